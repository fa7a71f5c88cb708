"""Pass: a Conv followed by an Add of a per-channel constant -> the Conv's bias.

Given: tf2onnx leaves the bias as a separate Add after the Squeeze of each Conv1D, so once
`native_1d` and `layout_chains` have run, every biased conv is Conv -> Add(constant).
Result: one Conv with its bias input; its output keeps the Add's name, so localisation
still finds the layer.
"""

from __future__ import annotations

import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, is_op, per_channel, take_over
from converter.export.onnx_graph.values import required


def run(model: ir.Model) -> int:
    """Fold every foldable bias Add; returns how many were folded."""
    graph, folded = model.graph, 0
    for node in list(graph):
        if not is_op(node, "Conv") or len(node.inputs) != 2:
            continue
        kernel = constant(node.inputs[1])
        result = node.outputs[0]
        users = result.consumers()
        if kernel is None or result.is_graph_output() or len(users) != 1:
            continue
        add = users[0]
        if not is_op(add, "Add") or len(add.inputs) != 2:
            continue
        other = add.inputs[1] if add.inputs[0] is result else add.inputs[0]
        bias = per_channel(constant(other), kernel.shape[0])
        if bias is None:
            continue
        bias_value = initializer(graph, f"{required(node, 1).name}_bias",
                                 bias.astype(kernel.dtype))
        node.resize_inputs(3)
        node.replace_input_with(2, bias_value)
        take_over(add.outputs[0], result)
        graph.remove(add, safe=True)
        folded += 1
    return folded

