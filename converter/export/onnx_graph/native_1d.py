"""Pass: a 4-D Conv/ConvTranspose/MaxPool/AveragePool over a size-1 height -> a native 1-D op.

Given: tf2onnx lowers every Conv1D (and 1-D pooling) as Unsqueeze -> 4-D op -> Squeeze,
with a kernel of height 1 and no stride, dilation or padding along that height.
Result: Squeeze(axis 2) -> the same op with 1-D kernel_shape/strides/dilations/pads and a
(O, I, k) kernel -> Unsqueeze(axis 2). The inserted pairs cancel against tf2onnx's own in
`layout_chains`, leaving one 1-D node per convolution; onnxruntime runs a native 1-D Conv
15-30% faster than its (H=1) 2-D form at SpliceAI's sizes (DESIGN.md).
"""

from __future__ import annotations

from typing import Any

import onnx_ir as ir

from converter.export.onnx_graph.layout import axes_node, constant, initializer, is_op, opset
from converter.export.onnx_graph.values import required, typed_like

OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool")
WEIGHTED = ("Conv", "ConvTranspose")


def run(model: ir.Model) -> int:
    """Rewrite every height-1 4-D op; returns how many were rewritten."""
    graph, version, count = model.graph, opset(model), 0
    for node in list(graph):
        attributes = one_dimensional(node)
        if attributes is None:
            continue
        inputs: list[ir.Value | None] = list(node.inputs)
        if node.op_type in WEIGHTED:
            kernel = constant(node.inputs[1])
            assert kernel is not None  # one_dimensional checked it
            inputs[1] = initializer(graph, f"{required(node, 1).name}_1d", kernel[:, :, 0, :])
        squeeze = axes_node(graph, "Squeeze", required(node), [2], version)
        inputs[0] = squeeze.outputs[0]
        replacement = ir.node(node.op_type, inputs, attributes, name=node.name,
                              num_outputs=len(node.outputs))
        old = node.outputs[0]
        unsqueeze = axes_node(graph, "Unsqueeze", replacement.outputs[0], [2], version)
        graph.insert_before(node, [squeeze, replacement, unsqueeze])
        for before, after in ((node.inputs[0], squeeze.outputs[0]), (old, replacement.outputs[0])):
            if before is not None and before.shape is not None and len(before.shape) == 4:
                after.shape = ir.Shape([d for axis, d in enumerate(before.shape) if axis != 2])
            if before is not None and before.dtype is not None:
                after.dtype = before.dtype
        typed_like(unsqueeze.outputs[0], old)
        replacement.outputs[0].name, old.name = old.name, f"{old.name}_4d"
        old.replace_all_uses_with(unsqueeze.outputs[0], replace_graph_outputs=True)
        unsqueeze.outputs[0].name = old.name
        graph.remove(node, safe=True)
        count += 1
    return count


def one_dimensional(node: ir.Node) -> dict[str, Any] | None:
    """The 1-D attributes of a 4-D op that only works along its width; None otherwise."""
    if not is_op(node, *OPS) or len(node.outputs) != 1:
        return None
    if node.op_type in WEIGHTED:
        kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
        if kernel is None or kernel.ndim != 4 or kernel.shape[2] != 1:
            return None
    kernel_shape = node.attributes.get_ints("kernel_shape", None)
    if kernel_shape is not None and (len(kernel_shape) != 2 or kernel_shape[0] != 1):
        return None
    if node.op_type not in WEIGHTED and kernel_shape is None:
        return None
    if "output_shape" in node.attributes:
        return None  # an explicit output height is rare; such nodes stay as they are
    result: dict[str, object] = {}
    for name, attribute in node.attributes.items():
        value = attribute.value
        if name in ("kernel_shape", "strides", "dilations", "output_padding"):
            height = 0 if name == "output_padding" else 1
            if len(value) != 2 or value[0] != height:
                return None
            result[name] = [int(value[1])]
        elif name == "pads":
            if len(value) != 4 or value[0] != 0 or value[2] != 0:
                return None
            result[name] = [int(value[1]), int(value[3])]
        else:
            result[name] = value
    return result

