"""Pass: at a dynamic length, dilated 1-D Convs convolve rows, the input padded once.

Given: onnxruntime runs a dilated 1-D Conv through its generic kernel. Measured here on
chains of 8 Conv+Relu at SpliceAI's sizes (32 channels, length 15,000, 2 threads): k=41 d=25
takes 62.8 ms as native 1-D Convs and 36.5 ms as (k, 1) Conv2Ds over rows of 25; k=21 d=10
34.8 -> 17.9 ms and k=11 d=4 18.7 -> 9.9 ms with the phases as rows (rows_plan); undilated
k=11 is faster native. The static-length pass (dilated_rows) pads each conv to whole rows;
at a dynamic length that would take shape arithmetic around every conv.
Result: where padding the input's end changes no output (tail_padding), the input is padded
once at run time to a length that every layout divides, each dilated conv (rows_plan says
which: dilation >= 4, enough work per step) convolves rows of its dilation without
dilation, the ops between such convs compute in the same layout, a Reshape (and a Transpose
into or out of phases) stands only where the layout changes, and every output is sliced
back to its true length: 4 nodes pad the input, 2 slice each output.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph import tail_padding
from converter.export.onnx_graph.layout import constant, initializer, is_op, opset
from converter.export.onnx_graph.rows_plan import (
    FLAT,
    Plan,
    common_residue,
    conv_layout,
    conv_pads,
    make_plan,
    whole_rows,
)
from converter.export.onnx_graph.tail_padding import BINARY, Track, Tracking


def run(model: ir.Model) -> int:
    """Rewrite the graph when it qualifies; returns how many Convs now convolve rows."""
    graph = model.graph
    if opset(model) < 13 or not len(graph):
        return 0
    tracking = tail_padding.track(graph)
    if tracking is None or not tracking.padding_is_exact:
        return 0
    plan = make_plan(graph, tracking)
    residue = common_residue(plan, tracking)
    rows = sum(1 for node, layout in plan.nodes.items() if conv_layout(node, tracking) == layout)
    if residue is None or not rows:
        return 0
    outputs = [(v.shape, v.dtype, tracking.tracks.get(v)) for v in graph.outputs]
    Rewriter(graph, plan, tracking).apply()
    length = pad_input(graph, tracking, *residue, opset(model))
    for position, (shape, dtype, found) in enumerate(outputs):
        if found is not None:
            crop = slice_output(graph, position, length, found)
            crop.shape, crop.dtype = shape, dtype
    return rows


class Rewriter:
    """Applies a plan: convs and layout-free nodes in their layouts, conversions between."""

    def __init__(self, graph: ir.Graph, plan: Plan, tracking: Tracking) -> None:
        self.graph, self.plan, self.tracks = graph, plan, tracking.tracks
        self.converted: dict[tuple[ir.Value, int], ir.Value] = {}

    def apply(self) -> None:
        """Rewrite every node of the plan; give flat tensors to every other reader."""
        for node in list(self.graph):
            layout = self.plan.nodes.get(node)
            if layout is None:
                for index, value in enumerate(node.inputs):
                    if value is not None and self.plan.of(value) != FLAT:
                        node.replace_input_with(index, self.layout(value, FLAT))
            elif is_op(node, "Conv"):
                self.conv(node, layout)
            else:
                self.in_layout(node, layout)
        for index, value in enumerate(self.graph.outputs):
            if self.plan.of(value) != FLAT:
                flat, name = self.layout(value, FLAT), value.name
                value.name = f"{name}_rows"
                flat.name = name
                self.graph.outputs[index] = flat

    def layout(self, value: ir.Value, layout: int) -> ir.Value:
        """`value` in `layout`, converted once however many readers want it so."""
        source = self.plan.of(value)
        if source == layout:
            return value
        key = (value, layout)
        if key not in self.converted:
            nodes, current = [], value
            if source < 0:
                nodes.append(ir.node("Transpose", [current], {"perm": [0, 1, 3, 2]}))
                current = nodes[-1].outputs[0]
            if abs(source) != abs(layout):
                shape = [0, 0, -1, abs(layout)] if layout else [0, 0, -1]
                target = initializer(self.graph, f"{value.name}_as_{abs(layout) or 'flat'}",
                                     np.array(shape, np.int64))
                nodes.append(ir.node("Reshape", [current, target]))
                current = nodes[-1].outputs[0]
            if layout < 0:
                nodes.append(ir.node("Transpose", [current], {"perm": [0, 1, 3, 2]}))
            for node in nodes:
                node.outputs[0].dtype = value.dtype
            producer = value.producer()
            if producer is None:
                self.graph.insert_before(self.graph[0], nodes)
            else:
                self.graph.insert_after(producer, nodes)
            self.converted[key] = nodes[-1].outputs[0]
            self.plan.layouts[nodes[-1].outputs[0]] = layout
        return self.converted[key]

    def conv(self, node: ir.Node, layout: int) -> None:
        """A 1-D Conv (dilated, or 1x1) over rows: a (k, 1) kernel, or (1, k) over phases."""
        kernel = constant(node.inputs[1])
        assert kernel is not None
        dilation = node.attributes.get_ints("dilations", [1])[0]
        left, right = conv_pads(node, (kernel.shape[2] - 1) * dilation)
        width, size = abs(layout), int(kernel.shape[2])
        name = node.outputs[0].name or "conv"
        if layout > 0:
            shaped, kernel_shape = kernel[:, :, :, None], [size, 1]
            pads = [left // width, 0, right // width, 0]
        else:
            shaped, kernel_shape = kernel[:, :, None, :], [1, size]
            pads = [0, left // width, 0, right // width]
        weights = initializer(self.graph, f"{name}_rows_kernel", shaped)
        rows = ir.node("Conv", [self.layout(node.inputs[0], layout), weights, *node.inputs[2:]],
                       {"kernel_shape": kernel_shape, "pads": pads,
                        "group": node.attributes.get_int("group", 1)})
        self.graph.insert_before(node, rows)
        output = node.outputs[0]
        output.name = f"{name}_flat"
        output.replace_all_uses_with(rows.outputs[0], replace_graph_outputs=True)
        rows.outputs[0].name, rows.outputs[0].dtype = name, output.dtype
        self.plan.layouts[rows.outputs[0]] = layout
        self.graph.remove(node, safe=True)

    def in_layout(self, node: ir.Node, layout: int) -> None:
        """A layout-free node: its sequence inputs, constants and crop bounds follow `layout`."""
        for index, value in enumerate(node.inputs):
            if value is None:
                continue
            if value in self.plan.layouts or value in self.tracks:
                node.replace_input_with(index, self.layout(value, layout))
            elif is_op(node, *BINARY, "PRelu"):
                array = constant(value)
                if array is not None and array.ndim >= 2:
                    node.replace_input_with(index, initializer(
                        self.graph, f"{value.name}_rows", array[..., None]))
        if is_op(node, "Slice"):
            bounds = whole_rows(node, abs(layout))
            assert bounds is not None
            starts, ends, axes = bounds
            if layout < 0:  # the length runs along the last axis in phases
                axes = [3 if axis == 2 else axis for axis in axes]
            for index, numbers in zip((1, 2, 3), (starts, ends, axes), strict=True):
                node.replace_input_with(index, initializer(
                    self.graph, f"{node.outputs[0].name}_rows_bounds",
                    np.array(numbers, np.int64)))
        node.outputs[0].shape = None


def pad_input(graph: ir.Graph, tracking: Tracking, residue: int, modulus: int,
              version: int) -> ir.Value:
    """Pad the input's end to a length = residue (mod modulus); returns its true length."""
    source = tracking.source
    axis = tracking.tracks[source].axis
    rank = len(source.shape) if source.shape is not None else 3
    shape = ir.node("Shape", [source], {"start": axis, "end": axis + 1} if version >= 15 else {})
    nodes = [shape]
    if version < 15:
        nodes.append(ir.node("Gather", [shape.outputs[0], int64s(graph, "length_axis", [axis])]))
    length = nodes[-1].outputs[0]
    # pads = (residue - L) mod modulus at the length's end entry; the other entries are
    # (0 - L) mod 1 = 0: one Sub and one Mod give the whole pads vector.
    position = rank + axis
    residues = [residue if i == position else 0 for i in range(2 * rank)]
    moduli = [modulus if i == position else 1 for i in range(2 * rank)]
    nodes.append(ir.node("Sub", [int64s(graph, "rows_residue", residues), length]))
    nodes.append(ir.node("Mod", [nodes[-1].outputs[0], int64s(graph, "rows_modulus", moduli)]))
    nodes.append(ir.node("Pad", [source, nodes[-1].outputs[0]]))
    padded = nodes[-1].outputs[0]
    padded.name = f"{source.name}_padded"
    readers = [(user, index) for user, index in source.uses() if user not in nodes]
    graph.insert_before(graph[0], nodes)
    for user, index in readers:
        user.replace_input_with(index, padded)
    return length


def slice_output(graph: ir.Graph, position: int, length: ir.Value, found: Track) -> ir.Value:
    """Graph output `position` cut to its true length: the input's less its shrink."""
    value = graph.outputs[position]
    end = length
    if found.shrink:
        sub = ir.node("Sub", [length, int64s(graph, "output_shrink", [found.shrink])])
        graph.append(sub)
        end = sub.outputs[0]
    crop = ir.node("Slice", [value, int64s(graph, "output_start", [0]), end,
                             int64s(graph, "output_axis", [found.axis])])
    graph.append(crop)
    name = value.name
    value.name = f"{name}_padded"
    crop.outputs[0].name = name
    graph.outputs[position] = crop.outputs[0]
    return crop.outputs[0]


def int64s(graph: ir.Graph, base: str, numbers: list[int]) -> ir.Value:
    """A new int64 vector initializer."""
    return initializer(graph, base, np.array(numbers, np.int64))
