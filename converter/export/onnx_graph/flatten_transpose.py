"""Pass: Transpose -> flatten Reshape -> MatMul(constant) becomes Reshape -> MatMul.

Given: onnxruntime-style graphs keep feature maps channels-first inside (N, C, W), but a
Keras Flatten flattens channels-last (N, W, C), so tf2onnx transposes back before each
Flatten -> Dense: a Transpose in the middle of the graph, copying the whole feature map.
Result: the Reshape flattens (N, C, W) directly and the MatMul's weight rows are permuted
from (W, C) to (C, W) order: the same numbers, no Transpose. A Flatten that is one part of a
Concat of features before the MatMul (a multi-branch head) has its block of rows permuted.
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
        reshape, matmul, weights, start = found
        source = transpose.inputs[0]
        assert source is not None and source.shape is not None
        steps = int(source.shape[2])  # type: ignore[arg-type]  # static: `flattened` checked
        features = steps * int(source.shape[1])  # type: ignore[arg-type]
        reordered = weights.copy()
        reordered[start:start + features] = reorder_rows(weights[start:start + features], steps)
        matmul.replace_input_with(1, initializer(
            graph, f"{required(matmul, 1).name}_channels_first", reordered.astype(weights.dtype)))
        reshape.replace_input_with(0, source)
        graph.remove(transpose, safe=True)
        absorbed += 1
    return absorbed


def flatten_of_transpose(
    transpose: ir.Node,
) -> tuple[ir.Node, ir.Node, np.ndarray, int] | None:
    """(Reshape, MatMul, weights, first row of the Flatten's block), if the Transpose qualifies.

    It must be (0, 2, 1) and feed only a Flatten -> MatMul, or a Flatten -> Concat of
    features -> MatMul.
    """
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
    found = feature_rows(reshape.outputs[0])
    if found is None:
        return None
    matmul, start = found
    weights = constant(matmul.inputs[1])
    if weights is None or weights.ndim != 2 or weights.shape[0] < start + features:
        return None
    return reshape, matmul, weights, start


def feature_rows(flat: ir.Value) -> tuple[ir.Node, int] | None:
    """(the MatMul, the first of its weight rows) that a flat (N, F) value is multiplied by.

    Directly, or as one block of a Concat of static-width features read only by the MatMul.
    """
    users = flat.consumers()
    if len(users) != 1 or flat.is_graph_output():
        return None
    reader, start = users[0], 0
    if is_op(reader, "Concat") and reader.attributes.get_int("axis", 0) in (1, -1):
        for part in reader.inputs:
            if part is flat:
                break
            dims = static_dims(ir.Shape(list(part.shape)[1:])) if part and part.shape else None
            if dims is None or len(dims) != 1:
                return None
            start += dims[0]
        users = reader.outputs[0].consumers()
        if len(users) != 1 or reader.outputs[0].is_graph_output() or list(
                reader.inputs).count(flat) != 1:
            return None
        flat, reader = reader.outputs[0], users[0]
    if not is_op(reader, "MatMul") or reader.inputs[0] is not flat:
        return None
    return reader, start
