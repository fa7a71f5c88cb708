"""The normalised graph rebuilt as a Keras 3 model: separates normalisation bugs from export bugs.

If this runtime agrees with the reference and an artifact does not, the exporter is wrong;
if this one already differs, a normalisation pass is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converter.parity.runtimes.base import Accepts, check_feeds
from converter.parity.runtimes.keras_source import KerasSource, call_model, traced_if_recurrent


class KerasNormalized(KerasSource):
    """converter.build on the graph file the parent wrote, run in inference mode.

    Shares the reference's configuration (--custom-objects, --allow-lambda) and its call.
    """

    name = "keras-normalized"
    accepts: Accepts = "graph"
    install_hint = "pip install 'keras>=3.15,<3.16' 'tensorflow>=2.21,<2.22'"

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[str] = []

    def load(self, path: str, loader: str) -> None:
        """Rebuild the graph with Keras 3 layer classes."""
        from converter.build import build
        from converter.graph.interface import input_specs
        from converter.graph.serialize import load_graph

        graph = load_graph(Path(path))
        self.inputs = [s.name for s in input_specs(graph)]
        self.model = traced_if_recurrent(build(graph, self.custom, self.allow_lambda))

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Call the model; outputs in the graph's order."""
        check_feeds(self.name, self.inputs, feeds)
        return call_model(self.model, feeds)
