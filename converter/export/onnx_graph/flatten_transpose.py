"""Pass: Transpose -> flatten Reshape -> MatMul(constant) becomes Reshape -> MatMul.

Given: onnxruntime-style graphs keep feature maps channels-first inside (N, C, W), but a
Keras Flatten flattens channels-last (N, W, C), so tf2onnx transposes back before each
Flatten -> Dense: a Transpose in the middle of the graph, copying the whole feature map.
Result: the Reshape flattens (N, C, W) directly and the MatMul's weight rows are permuted
from (W, C) to (C, W) order: the same numbers, no Transpose.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, is_op
from converter.export.onnx_graph.values import required, static_dims
from converter.graph.flatten_order import reorder_rows


def run(model: ir.Model) -> int:
    """Absorb every such Transpose; returns how many."""
    graph, absorbed = model.graph, 0
    for transpose in list(graph):
        found = flatten_of_transpose(transpose)
        if found is None:
            continue
        reshape, matmul, weights = found
        source = transpose.inputs[0]
        assert source is not None and source.shape is not None
        steps = int(source.shape[2])  # type: ignore[arg-type]  # static: `flattened` checked
        reordered = reorder_rows(weights, steps)
        matmul.replace_input_with(1, initializer(
            graph, f"{required(matmul, 1).name}_channels_first", reordered.astype(weights.dtype)))
        reshape.replace_input_with(0, source)
        graph.remove(transpose, safe=True)
        absorbed += 1
    return absorbed


def flatten_of_transpose(transpose: ir.Node) -> tuple[ir.Node, ir.Node, np.ndarray] | None:
    """(Reshape, MatMul, weights) when a (0, 2, 1) Transpose only feeds a Flatten -> MatMul."""
    if not is_op(transpose, "Transpose") or transpose.outputs[0].is_graph_output():
        return None
    perm = transpose.attributes.get_ints("perm", None)
    source = transpose.inputs[0]
    if perm is None or list(perm) != [0, 2, 1] or source is None or source.shape is None:
        return None
    dims = static_dims(ir.Shape(list(source.shape)[1:]))
    if dims is None:
        return None
    readers = transpose.outputs[0].consumers()
    if len(readers) != 1 or not is_op(readers[0], "Reshape"):
        return None
    reshape = readers[0]
    target = constant(reshape.inputs[1])
    features = dims[0] * dims[1]
    if target is None or target.reshape(-1)[-1:].tolist() not in ([features], [-1]) or (
            target.size != 2):
        return None
    users = reshape.outputs[0].consumers()
    if len(users) != 1 or not is_op(users[0], "MatMul") or reshape.outputs[0].is_graph_output():
        return None
    matmul = users[0]
    weights = constant(matmul.inputs[1])
    if matmul.inputs[0] is not reshape.outputs[0] or weights is None or weights.ndim != 2 or (
            weights.shape[0] != features):
        return None
    return reshape, matmul, weights
