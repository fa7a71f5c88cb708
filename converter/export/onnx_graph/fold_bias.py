"""Pass: a Conv followed by an Add of a per-channel constant -> the Conv's bias.

Given: tf2onnx leaves the bias as a separate Add after the Squeeze of each Conv1D, so once
`native_1d` and `layout_chains` have run, every biased conv is Conv -> Add(constant).
Result: one Conv with its bias input; its output keeps the Add's name, so localisation
still finds the layer.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer


def run(model: ir.Model) -> int:
    """Fold every foldable bias Add; returns how many were folded."""
    graph, folded = model.graph, 0
    for node in list(graph):
        if node.op_type != "Conv" or len(node.inputs) != 2 or node.domain not in ("", "ai.onnx"):
            continue
        kernel = constant(node.inputs[1])
        result = node.outputs[0]
        users = result.consumers()
        if kernel is None or result.is_graph_output() or len(users) != 1:
            continue
        add = users[0]
        bias = channel_bias(add, result, kernel.shape[0], kernel.ndim)
        if bias is None:
            continue
        bias_value = initializer(graph, f"{node.inputs[1].name}_bias", bias.astype(kernel.dtype))
        node.resize_inputs(3)
        node.replace_input_with(2, bias_value)
        name = add.outputs[0].name
        add.outputs[0].name = f"{name}_folded"
        add.outputs[0].replace_all_uses_with(result, replace_graph_outputs=True)
        result.name = name
        graph.remove(add, safe=True)
        folded += 1
    return folded


def channel_bias(add: ir.Node, conv_out: ir.Value, channels: int, rank: int) -> np.ndarray | None:
    """The (channels,) bias an Add contributes, if it adds a per-channel constant."""
    if add.op_type != "Add" or add.domain not in ("", "ai.onnx") or len(add.inputs) != 2:
        return None
    other = add.inputs[1] if add.inputs[0] is conv_out else add.inputs[0]
    array = constant(other)
    if array is None or array.size != channels or array.ndim > rank:
        return None
    shape = (1,) * (rank - array.ndim) + array.shape
    if channels > 1 and shape[1] != channels:
        return None
    return array.reshape(channels)
