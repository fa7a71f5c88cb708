"""onnxruntime's CPU execution provider, with every graph optimisation and with none.

The optimised session is what a server deployment runs; the unoptimised one runs the graph
as written, so a fusion bug in onnxruntime shows up as a difference between the two.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.parity.runtimes.base import Accepts, Defaults, check_feeds


class OrtCpu(Defaults):
    """The configuration a server deployment of the .onnx file would use."""

    name = "ort-cpu"
    accepts: Accepts = "onnx"
    install_hint = "pip install 'onnxruntime>=1.31,<1.33'"
    level = "ORT_ENABLE_ALL"
    session: Any = None  # set by `load`

    def load(self, path: str, loader: str) -> None:
        """Create the session."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, self.level)
        options.intra_op_num_threads = 2
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One run; outputs in the graph's order."""
        check_feeds(self.name, [i.name for i in self.session.get_inputs()], feeds)
        return [np.asarray(x) for x in self.session.run(None, feeds)]


class OrtCpuNoOpt(OrtCpu):
    """The CPU provider with graph optimisations disabled."""

    name = "ort-cpu-noopt"
    level = "ORT_DISABLE_ALL"
