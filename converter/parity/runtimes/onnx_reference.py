"""`onnx.reference.ReferenceEvaluator`: the ONNX specification's own semantics in Python."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.errors import NotApplicable
from converter.parity.runtimes.base import Accepts, Defaults, check_feeds

# Ops whose onnx 1.23 reference implementation gives wrongly shaped results on valid models.
UNRELIABLE = {"Loop", "Scan"}


def spec_ops() -> list[Any]:
    """Ops whose onnx 1.23 reference implementation departs from the spec, done per the spec.

    GlobalMaxPool reduces axes range(rank - 2, rank) there: right for 4-D inputs, but for a
    3-D (N, C, L) input it reduces the channels too and the next node fails. The spec reduces
    every spatial axis (2 .. rank - 1), keeping them as size 1.
    """
    from onnx.reference.op_run import OpRun

    class GlobalMaxPool(OpRun):
        op_domain = ""

        def _run(self, x: np.ndarray) -> tuple[np.ndarray]:
            return (x.max(axis=tuple(range(2, x.ndim)), keepdims=True),)

    return [GlobalMaxPool]


class OnnxReference(Defaults):
    """Slow but independent of onnxruntime's kernels and fusions."""

    name = "onnx-reference"
    accepts: Accepts = "onnx"
    slow = True  # a plain evaluator (see Runtime)
    install_hint = "pip install 'onnx>=1.23,<1.24'"

    def __init__(self) -> None:
        self.evaluator: Any = None
        self.inputs: list[str] = []

    def load(self, path: str, loader: str) -> None:
        """Build the evaluator."""
        import onnx
        from onnx.reference import ReferenceEvaluator

        model = onnx.load(path)
        loops = sorted({n.op_type for n in model.graph.node} & UNRELIABLE)
        if loops:
            raise NotApplicable(
                f"onnx.reference (onnx 1.23) mis-shapes the scan outputs of {', '.join(loops)} "
                "(a 3-D Transpose then meets a 2-D tensor); onnxruntime checks this file")
        self.inputs = [i.name for i in model.graph.input]
        self.evaluator = ReferenceEvaluator(model, new_ops=spec_ops())

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One run; outputs in the graph's order."""
        check_feeds(self.name, self.inputs, feeds)
        return [np.asarray(x) for x in self.evaluator.run(None, feeds)]
