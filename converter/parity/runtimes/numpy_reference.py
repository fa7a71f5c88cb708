"""The NumPy reference interpreter as a parity runtime (runs the normalised graph)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converter.artifacts import ModelGraph
from converter.graph.interface import input_specs
from converter.parity.runtimes.base import Accepts, Defaults, check_feeds


class NumpyReference(Defaults):
    """Independent of Keras and of every exporter; the reference for Keras 1 files."""

    name = "numpy"
    accepts: Accepts = "graph"
    slow = True  # a plain evaluator (see Runtime)
    install_hint = "pip install 'numpy>=2,<3'"
    graph: ModelGraph | None = None  # set by `load`

    def load(self, path: str, loader: str) -> None:
        """Read the graph file the parent wrote."""
        from converter.graph.serialize import load_graph

        self.graph = load_graph(Path(path))

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Interpret the graph on one case."""
        from converter.reference import run_graph

        if self.graph is None:
            raise RuntimeError("NumpyReference.run called before load")
        check_feeds(self.name, [s.name for s in input_specs(self.graph)], feeds)
        return run_graph(self.graph, list(feeds.values()))
