"""Why each Transpose left inside a finished ONNX graph is there, for the report's lowerings.

After layout_assign a Transpose stays only where it is needed: at a graph input or output
(not reported), into or out of a recurrent op (onnxruntime's LSTM/GRU/RNN read and write
sequence-major tensors only), between a dilated conv's rows and phases (conv_layouts), or
between an op that writes one axis order and readers that need another, neither of which
can compute in the other's (a Reshape that regroups channels-last values, an embedding's
Gather, a per-step MatMul). Each such place is named by the ops on either side.
"""

from __future__ import annotations

from collections import Counter

import onnx_ir as ir

from converter.export.onnx_graph import default_states
from converter.export.onnx_graph.layout import is_op

RECURRENT = tuple(default_states.RECURRENT)
# Ops that pass a recurrent op's output on unchanged in order (its direction axis dropped,
# its last step taken).
PASS_THROUGH = ("Squeeze", "Reshape", "Slice", "Identity", "Gather")


def describe(model: ir.Model) -> tuple[str, ...]:
    """One sentence per reason, with how many interior Transposes it keeps."""
    reasons: Counter[str] = Counter()
    for node in model.graph:
        source = node.inputs[0] if is_op(node, "Transpose") and node.inputs else None
        if source is None or source.is_graph_input() or node.outputs[0].is_graph_output():
            continue
        reasons[reason(node, source)] += 1
    return tuple(f"{count} Transpose(s) kept {text}" for text, count in sorted(reasons.items()))


def reason(node: ir.Node, source: ir.Value) -> str:
    """Why one interior Transpose is needed, named by the ops around it."""
    readers = sorted({r.op_type for r in node.outputs[0].consumers()})
    into = [kind for kind in readers if kind in RECURRENT]
    if into:
        return (f"into {into[0]}: onnxruntime's recurrent ops read (steps, batch, features) "
                "only")
    writer = origin(source)
    if writer in RECURRENT:
        return f"out of {writer}: recurrent ops write (steps, batch, units) only"
    if list(node.attributes.get_ints("perm", [])) == [0, 1, 3, 2]:
        return "between a dilated conv's rows and phases (the onnxruntime lowering)"
    producer = source.producer()
    written = producer.op_type if producer is not None else "an initializer"
    return (f"between {written} and {', '.join(readers) or 'nothing'}: the one writes an axis "
            "order the other cannot read, and neither can compute in the other's")


def origin(value: ir.Value) -> str | None:
    """The op a value comes from, looking through ops that keep a recurrent output's order."""
    producer = value.producer()
    while producer is not None and is_op(producer, *PASS_THROUGH) and producer.inputs[0]:
        producer = producer.inputs[0].producer()
    return None if producer is None else producer.op_type
