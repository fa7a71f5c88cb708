"""Pass: Mul by a per-channel constant then Add of one -> one BatchNormalization.

Given: tf2onnx writes an inference BatchNormalization that follows no conv (SpliceAI's
pre-activation residual units) as Mul(scale) -> Add(offset): two nodes per layer.
Result: BatchNormalization(scale, offset, mean 0, variance 1, epsilon 0), which computes
x * scale + offset exactly, is one node, and which onnxruntime fuses like any other.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, is_op, per_channel, take_over


def run(model: ir.Model) -> int:
    """Merge every Mul -> Add pair of per-channel constants; returns how many."""
    graph, merged = model.graph, 0
    for mul in list(graph):
        pair = affine_pair(mul)
        if pair is None:
            continue
        add, source, scale, offset = pair
        base = add.outputs[0].name or "affine"
        values = [initializer(graph, f"{base}_{role}", array.astype(scale.dtype)) for role, array
                  in (("scale", scale), ("offset", offset), ("mean", np.zeros_like(scale)),
                      ("variance", np.ones_like(scale)))]
        norm = ir.node("BatchNormalization", [source, *values], {"epsilon": 0.0},
                       name=add.name)
        graph.insert_before(mul, norm)
        take_over(add.outputs[0], norm.outputs[0])
        graph.remove([add, mul], safe=True)
        merged += 1
    return merged


def affine_pair(
    mul: ir.Node,
) -> tuple[ir.Node, ir.Value, np.ndarray, np.ndarray] | None:
    """(the Add, the scaled input, scale (C,), offset (C,)) when `mul` starts such a pair."""
    if not is_op(mul, "Mul") or len(mul.inputs) != 2:
        return None
    scale_at = next((i for i, v in enumerate(mul.inputs) if constant(v) is not None), None)
    if scale_at is None or mul.outputs[0].is_graph_output():
        return None
    users = mul.outputs[0].consumers()
    source = mul.inputs[1 - scale_at]
    if len(users) != 1 or not is_op(users[0], "Add") or source is None:
        return None
    add = users[0]
    other = add.inputs[1] if add.inputs[0] is mul.outputs[0] else add.inputs[0]
    # The constants must span the input's axis 1 (a (1, 1, 1) constant broadcasts over any
    # axis: on (N, W, 1) it is a scalar, not the scale of W channels).
    dims = source.shape
    channels = dims[1] if dims is not None and len(dims) > 1 else None
    if not isinstance(channels, int):
        return None
    scale = per_channel(constant(mul.inputs[scale_at]), channels)
    offset = per_channel(constant(other), channels)
    if scale is None or offset is None or scale.shape != offset.shape:
        return None
    return add, source, scale, offset

