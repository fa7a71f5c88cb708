"""Pass: a widely dilated 1-D Conv at a static length -> a Conv2D over rows of `dilation`.

Given: a 1-D Conv with dilation d reads every d-th step. onnxruntime's dilated kernels are
slow at SpliceAI's sizes (32 channels, length ~16,000): one Conv k=41 d=25 takes 6.2 ms,
k=21 d=10 3.4 ms (2 threads), which is why tf2onnx's SpaceToBatch form beats it.
Result: where the length is static, the padded input is reshaped (N, C, L) -> (N, C, L/d, d),
so each column is one dilation phase, convolved by a (k, 1) kernel without dilation, and
reshaped back: 4.1 ms and 2.8 ms for the two convs above, the same numbers. Padding by whole
rows is the row conv's own; otherwise a Pad rounds the length up to a multiple of d and a
Slice crops the rows it added. Below a dilation of
MIN_DILATION the native dilated Conv is as fast or faster (k=11 d=4: 1.9 vs 2.0 ms), and at a
dynamic length the rounding would need shape arithmetic per conv, so those stay native.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.conv_layouts import conv2d
from converter.export.onnx_graph.layout import constant, initializer, is_op, opset, take_over

MIN_DILATION = 8


def run(model: ir.Model) -> int:
    """Rewrite every qualifying Conv; returns how many."""
    graph, rewritten = model.graph, 0
    if opset(model) < 11:  # Pad and Slice take their amounts as inputs from opset 11
        return 0
    for conv in list(graph):
        plan = row_plan(conv)
        if plan is None:
            continue
        left, right, steps, dilation = plan
        kernel = constant(conv.inputs[1])
        assert kernel is not None
        total = left + steps + right
        extra = -total % dilation
        length = total - (kernel.shape[2] - 1) * dilation
        base = conv.outputs[0].name or "conv"
        nodes = []
        source = conv.inputs[0]
        # Whole rows of padding are the row conv's own pads; anything else is a Pad node.
        whole_rows = steps % dilation == 0 and left % dilation == 0 and right % dilation == 0
        if not whole_rows and (left or right or extra):
            amounts = initializer(graph, f"{base}_rows_pads",
                                  np.array([0, 0, left, 0, 0, right + extra], np.int64))
            nodes.append(ir.node("Pad", [source, amounts]))
            source = nodes[-1].outputs[0]
        rows = initializer(graph, f"{base}_rows_shape", np.array([0, 0, -1, dilation], np.int64))
        nodes.append(ir.node("Reshape", [source, rows]))
        nodes.append(conv2d(graph, conv, nodes[-1].outputs[0], dilation,
                            (left, right) if whole_rows else (0, 0)))
        flat = initializer(graph, f"{base}_rows_flat", np.array([0, 0, -1], np.int64))
        nodes.append(ir.node("Reshape", [nodes[-1].outputs[0], flat]))
        if extra:
            starts = initializer(graph, f"{base}_rows_start", np.array([0], np.int64))
            ends = initializer(graph, f"{base}_rows_end", np.array([length], np.int64))
            axes = initializer(graph, f"{base}_rows_axis", np.array([2], np.int64))
            nodes.append(ir.node("Slice", [nodes[-1].outputs[0], starts, ends, axes]))
        graph.insert_before(conv, nodes)
        take_over(conv.outputs[0], nodes[-1].outputs[0])
        graph.remove(conv, safe=True)
        rewritten += 1
    return rewritten


def row_plan(conv: ir.Node) -> tuple[int, int, int, int] | None:
    """(left pad, right pad, static length, dilation) of a Conv this pass rewrites."""
    if not is_op(conv, "Conv") or conv.attributes.get_string("auto_pad", "NOTSET") != "NOTSET":
        return None
    kernel = constant(conv.inputs[1]) if len(conv.inputs) > 1 else None
    source = conv.inputs[0]
    if kernel is None or kernel.ndim != 3 or source is None or source.shape is None:
        return None
    dilation = conv.attributes.get_ints("dilations", [1])[0]
    stride = conv.attributes.get_ints("strides", [1])[0]
    steps = source.shape[2] if len(source.shape) == 3 else None
    if dilation < MIN_DILATION or stride != 1 or not isinstance(steps, int):
        return None
    left, right = conv.attributes.get_ints("pads", [0, 0])
    return int(left), int(right), steps, int(dilation)
