"""`onnx.reference.ReferenceEvaluator`: the ONNX specification's own semantics in Python."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.errors import NotApplicable
from converter.parity.runtimes.base import Accepts, Defaults, check_feeds

# Ops whose onnx 1.23 reference implementation gives wrongly shaped results on valid models.
UNRELIABLE = {"Loop", "Scan"}
# Recurrent ops whose onnx 1.23 reference implementation ignores these attributes
# (`_run` takes them unused) and their default gate functions.
IGNORED_ATTRIBUTES = {"LSTM": ("activations", "clip", "input_forget"),
                      "GRU": ("activations", "clip"), "RNN": ("clip",)}
DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh")}


def misevaluated(node: Any) -> str:
    """Why onnx.reference (onnx 1.23) would compute this node other than the spec says.

    "" where it computes the node right.
    """
    if node.op_type in UNRELIABLE:
        return (f"it mis-shapes the scan outputs of {node.op_type} (a 3-D Transpose then "
                "meets a 2-D tensor)")
    ignored = IGNORED_ATTRIBUTES.get(node.op_type, ())
    for attribute in node.attribute:
        if attribute.name not in ignored:
            continue
        if attribute.name == "activations":
            names = tuple(a.decode() for a in attribute.strings)
            default = DEFAULT_ACTIVATIONS[node.op_type]
            if names != default * (len(names) // len(default)):
                return (f"it runs {node.op_type} {node.name!r} with {'/'.join(default)} "
                        f"whatever its activations say ({', '.join(names)} here)")
        elif attribute.i or attribute.f:
            return f"it ignores {node.op_type} {node.name!r}'s {attribute.name} attribute"
    if node.op_type in IGNORED_ATTRIBUTES and len(node.input) > 4 and node.input[4]:
        return f"it ignores {node.op_type} {node.name!r}'s sequence_lens input"
    return ""


def first_misevaluated(graph: Any) -> str:
    """The reason of the first node (subgraphs included) onnx.reference gets wrong, or ""."""
    for node in graph.node:
        reason = misevaluated(node) or next(
            (r for a in node.attribute if a.g.node for r in [first_misevaluated(a.g)] if r), "")
        if reason:
            return reason
    return ""


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
        reason = first_misevaluated(model.graph)
        if reason:
            raise NotApplicable(f"onnx.reference (onnx 1.23) would mis-evaluate this file: "
                                f"{reason}; onnxruntime checks this file")
        self.inputs = [i.name for i in model.graph.input]
        self.evaluator = ReferenceEvaluator(model, new_ops=spec_ops())

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """One run; outputs in the graph's order."""
        check_feeds(self.name, self.inputs, feeds)
        return [np.asarray(x) for x in self.evaluator.run(None, feeds)]
