"""Pass: at a dynamic length, convolutions run as Conv2Ds in the layout onnxruntime runs best.

Given: tf2onnx's lowering, once native_1d and the layout passes have run, is a chain of 1-D
Convs. onnxruntime runs those through its generic kernel; 4-D Convs go through its NCHWc
kernels, which fuse the Relu and Add after them, and a dilated conv over rows of its
dilation needs no dilation at all (rows_plan has the measurements: SpliceAI's k=41 d=25
convs 62.8 -> 36.5 ms per 8, the TCN sample 0.185 -> 0.145 ms).
Result: every conv with a kernel wider than 1 becomes a Conv2D in the layout rows_plan gives
it, the ops between convs follow, and a Reshape (and a Transpose into or out of phases)
stands only where the layout changes. Splitting the length into rows of d needs it to be a
multiple of d: where that is so and padding the input's end changes no output
(tail_padding), the input is padded once at run time to a length every layout divides (a
Shape, Sub, Mod and Pad) and every output is sliced back to its true length (a Sub and a
Slice); where padding is not exact, only the (N, C, 1, L) layout is used, which needs none.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph import tail_padding
from converter.export.onnx_graph.layout import constant, initializer, is_op, opset
from converter.export.onnx_graph.rows_plan import (
    FLAT,
    PLANE,
    Plan,
    common_residue,
    conv_layout,
    make_plan,
    memory_shape,
    whole_rows,
)
from converter.export.onnx_graph.tail_padding import BINARY, Track, Tracking, conv_pads
from converter.export.onnx_graph.values import required, typed_like


def run(model: ir.Model) -> int:
    """Rewrite the graph when it qualifies; returns how many Convs became Conv2Ds."""
    graph = model.graph
    if opset(model) < 13 or not len(graph):
        return 0
    tracking = tail_padding.track(graph)
    rows = tracking is not None and tracking.padding_is_exact
    if tracking is None:  # an op that mixes positions reads the length: the plane only
        tracking = tail_padding.plane_tracking(graph)
    if tracking is None:
        return 0
    plan = make_plan(graph, tracking, rows)
    residue = common_residue(plan, tracking)
    convs = sum(1 for node, layout in plan.nodes.items()
                if conv_layout(node, tracking, rows) == layout)
    if residue is None or not convs:
        return 0
    outputs = [(v.shape, v.dtype, tracking.tracks.get(v)) for v in graph.outputs]
    Rewriter(graph, plan, tracking).apply()
    if residue[1] > 1:
        length = pad_input(graph, tracking, *residue, opset(model))
        for position, (shape, dtype, found) in enumerate(outputs):
            if found is not None:
                crop = slice_output(graph, position, length, found)
                crop.shape = shape
                if dtype is not None:
                    crop.dtype = dtype
    return convs


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
        for flat in [v for (_, layout), v in self.converted.items() if layout == FLAT]:
            skip_reshape(self.graph, flat)

    def layout(self, value: ir.Value, layout: int) -> ir.Value:
        """`value` in `layout`, converted once however many readers want it so."""
        source = self.plan.of(value)
        if source == layout:
            return value
        key = (value, layout)
        if key not in self.converted:
            nodes, current = [], value
            if source < PLANE:
                nodes.append(ir.node("Transpose", [current], {"perm": [0, 1, 3, 2]}))
                current = nodes[-1].outputs[0]
            if memory_shape(source) != memory_shape(layout):
                target = initializer(self.graph, f"{value.name}_as_{abs(layout) or 'flat'}",
                                     np.array(memory_shape(layout), np.int64))
                nodes.append(ir.node("Reshape", [current, target]))
                current = nodes[-1].outputs[0]
            if layout < PLANE:
                nodes.append(ir.node("Transpose", [current], {"perm": [0, 1, 3, 2]}))
            for node in nodes:
                typed_like(node.outputs[0], value)
                node.outputs[0].shape = None
            producer = value.producer()
            if producer is None:
                self.graph.insert_before(self.graph[0], nodes)
            else:
                self.graph.insert_after(producer, nodes)
            self.converted[key] = nodes[-1].outputs[0]
            self.plan.layouts[nodes[-1].outputs[0]] = layout
        return self.converted[key]

    def conv(self, node: ir.Node, layout: int) -> None:
        """A 1-D Conv (dilated, or 1x1) as a Conv2D in `layout`; readers read the Conv2D."""
        kernel = constant(node.inputs[1])
        assert kernel is not None
        reach = (kernel.shape[2] - 1) * node.attributes.get_ints("dilations", [1])[0]
        rows = conv2d(self.graph, node, self.layout(required(node), layout), layout,
                      conv_pads(node, reach))
        self.graph.insert_before(node, rows)
        output, name = node.outputs[0], node.outputs[0].name or "conv"
        output.name = f"{name}_flat"
        output.replace_all_uses_with(rows.outputs[0], replace_graph_outputs=True)
        rows.outputs[0].name = name
        typed_like(rows.outputs[0], output)
        rows.outputs[0].shape = None
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
            if layout < 0:  # the length runs along the last axis in phases and the plane
                axes = [3 if axis == 2 else axis for axis in axes]
            for index, numbers in zip((1, 2, 3), (starts, ends, axes), strict=True):
                node.replace_input_with(index, initializer(
                    self.graph, f"{node.outputs[0].name}_rows_bounds",
                    np.array(numbers, np.int64)))
        node.outputs[0].shape = None


def conv2d(graph: ir.Graph, node: ir.Node, source: ir.Value, layout: int,
           pads: tuple[int, int]) -> ir.Node:
    """1-D Conv `node` as a Conv2D reading `source` in `layout` (not yet in the graph).

    `pads` are steps of the length, whole rows in rows or phases. The kernel is (k, 1) down
    rows, (1, k) along phases or the plane; over rows or phases of d the conv steps through
    whole rows, without dilation, and in the plane it keeps its own.
    """
    kernel = constant(node.inputs[1])
    assert kernel is not None
    dilation = node.attributes.get_ints("dilations", [1])[0]
    width, size = abs(layout), int(kernel.shape[2])
    step = max(1, dilation // width) if size > 1 else 1
    (left, right), name = pads, node.outputs[0].name or "conv"
    if layout > 0:
        shaped, kernel_shape, dilations = kernel[:, :, :, None], [size, 1], [step, 1]
        padding = [left // width, 0, right // width, 0]
    else:
        shaped, kernel_shape, dilations = kernel[:, :, None, :], [1, size], [1, step]
        padding = [0, left // width, 0, right // width]
    weights = initializer(graph, f"{name}_rows_kernel", shaped)
    return ir.node("Conv", [source, weights, *node.inputs[2:]],
                   {"kernel_shape": kernel_shape, "pads": padding, "dilations": dilations,
                    "group": node.attributes.get_int("group", 1)})


def skip_reshape(graph: ir.Graph, flat: ir.Value) -> None:
    """Let Reshapes that read a flat conversion read what it converted, when they can.

    A Reshape whose target copies (0) no axis but the batch and channel axes gives the same
    result from any arrangement of the same values: the TCN's last Reshape to (N, L, 1).
    """
    conversion = flat.producer()
    if conversion is None or not is_op(conversion, "Reshape") or flat.is_graph_output():
        return
    readers = flat.consumers()
    for reader in readers:
        target = constant(reader.inputs[1]) if is_op(reader, "Reshape") else None
        if target is None or any(int(t) == 0 for t in target.reshape(-1)[2:]):
            return
    for reader in readers:
        reader.replace_input_with(0, conversion.inputs[0])
    graph.remove(conversion, safe=True)


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
