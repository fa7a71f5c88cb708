"""Pass: at a dynamic length, dilated 1-D Convs convolve rows, the input padded once.

Given: onnxruntime runs a dilated 1-D Conv through its generic kernel. Measured here on
chains of 8 Conv+Relu at SpliceAI's sizes (32 channels, length 15,000, 2 threads): k=41 d=25
takes 62.8 ms as native 1-D Convs and 36.2 ms as Conv2Ds over rows of 25; k=21 d=10 34.8 ->
24.4 ms; k=11 d=4 18.7 -> 16.1 ms; undilated k=11 is faster native (18.4 vs 25.4). The
static-length pass (dilated_rows) pads each conv to whole rows; at a dynamic length that
would take shape arithmetic around every conv.
Result: where padding the input's end changes no output (tail_padding), the input is padded
once at run time to a length that every rows layout divides. Each Conv with dilation >=
MIN_DILATION (and MIN_MACS of work per step) becomes a (k, 1) Conv over rows (N, C, L/d, d)
of its dilation, whose columns are the dilation's phases; the ops between such convs
(elementwise, per-channel, 1x1 convs, crops of whole rows, Concat of channels) compute in
the rows layout of their widest input, so a Reshape stands only where the layout changes.
Every output is sliced back to its true length. The pad costs 5 nodes, each output's slice
2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph import tail_padding
from converter.export.onnx_graph.layout import constant, initializer, int_list, is_op, opset
from converter.export.onnx_graph.tail_padding import BINARY, UNARY, Track, Tracking

MIN_DILATION = 4
# Multiply-adds per output step below which a conv stays native: the TCN sample's 16x16x3
# convs ran 15% slower in rows (0.216 vs 0.188 ms at length 2,000), the pad's fixed cost
# outweighing the kernel's gain; SpliceAI's smallest dilated conv has 32x32x11.
MIN_MACS = 8192


@dataclass
class Plan:
    """The rows width each rewritten node computes in; values absent from `layouts` are flat."""

    nodes: dict[ir.Node, int] = field(default_factory=dict)
    layouts: dict[ir.Value, int] = field(default_factory=dict)


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
    if residue is None:
        return 0
    rows = sum(1 for node, width in plan.nodes.items() if rows_width(node, tracking) == width)
    if not rows:
        return 0
    outputs = [(v.shape, v.dtype, tracking.tracks.get(v)) for v in graph.outputs]
    Rewriter(graph, plan, tracking).apply()
    length = pad_input(graph, tracking, *residue, opset(model))
    for position, (shape, dtype, found) in enumerate(outputs):
        if found is not None:
            crop = slice_output(graph, position, length, found)
            crop.shape, crop.dtype = shape, dtype
    return rows


def rows_width(node: ir.Node, tracking: Tracking) -> int | None:
    """The dilation of a Conv this pass turns into a rows conv, else None."""
    if not is_op(node, "Conv") or not carries_sequence(node.inputs[0], tracking):
        return None
    kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
    dilation = node.attributes.get_ints("dilations", [1])[0]
    if kernel is None or kernel.ndim != 3 or dilation < MIN_DILATION or kernel.size < MIN_MACS:
        return None
    if list(node.attributes.get_ints("strides", [1])) != [1]:
        return None
    left, right = conv_pads(node, (kernel.shape[2] - 1) * dilation)
    return dilation if left % dilation == 0 and right % dilation == 0 else None


def conv_pads(node: ir.Node, reach: int) -> tuple[int, int]:
    """A 1-D Conv's (left, right) padding, whichever way it is written."""
    auto_pad = node.attributes.get_string("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        small, large = reach // 2, reach - reach // 2
        return (small, large) if auto_pad == "SAME_UPPER" else (large, small)
    if auto_pad == "VALID":
        return 0, 0
    left, right = node.attributes.get_ints("pads", [0, 0])
    return int(left), int(right)


def carries_sequence(value: ir.Value | None, tracking: Tracking) -> bool:
    """Whether a value is an (N, C, L) tensor whose L is the input's length."""
    found = tracking.tracks.get(value) if value is not None else None
    return found is not None and found.axis == 2 and value is not None and (
        value.shape is not None and len(value.shape) == 3)


def make_plan(graph: ir.Graph, tracking: Tracking) -> Plan:
    """Rows convs in their width; layout-free ops in the widest width among their inputs."""
    plan = Plan()
    for node in graph:
        width = rows_width(node, tracking)
        if width is None:
            widths = sorted({plan.layouts[v] for v in node.inputs if v in plan.layouts},
                            reverse=True)
            width = next((w for w in widths if layout_free(node, w, tracking)), None)
        if width is not None:
            plan.nodes[node] = width
            plan.layouts[node.outputs[0]] = width
    return plan


def layout_free(node: ir.Node, width: int, tracking: Tracking) -> bool:
    """Whether a node computes the same in rows of `width` as on the flat sequence."""
    if not carries_sequence(node.outputs[0], tracking):
        return False
    operands = [v for v in node.inputs[1:] if v is not None]
    if is_op(node, "Conv"):
        kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
        return kernel is not None and kernel.shape[2:] == (1,) and conv_pads(node, 0) == (0, 0) \
            and list(node.attributes.get_ints("strides", [1])) == [1]
    if is_op(node, "Slice"):
        return whole_rows(node, width) is not None
    if is_op(node, "Softmax", "LogSoftmax", "Concat"):
        return node.attributes.get_int("axis", -1 if node.op_type != "Concat" else 0) % 3 == 1
    if is_op(node, *BINARY):
        operands = list(node.inputs)
    elif not is_op(node, *UNARY) or is_op(node, "Cast"):
        return False
    return all(v is not None and (v in tracking.tracks or constant(v) is not None)
               for v in operands)


def whole_rows(node: ir.Node, width: int) -> tuple[list[int], list[int], list[int]] | None:
    """A Slice's starts, ends and axes in rows of `width`, if it crops the length by rows."""
    starts, ends = int_list(node, "starts", 1), int_list(node, "ends", 2)
    axes = int_list(node, "axes", 3) or list(range(len(starts or [])))
    steps = int_list(node, "steps", 4) or [1] * len(axes)
    if starts is None or ends is None or any(s != 1 for s in steps):
        return None
    new_ends = []
    for axis, start, end in zip(axes, starts, ends, strict=True):
        if axis % 3 != 2:
            new_ends.append(end)
        elif start % width or (end < tail_padding.TO_THE_END and end % width):
            return None
        else:
            new_ends.append(end if end >= tail_padding.TO_THE_END else end // width)
    new_starts = [s // width if a % 3 == 2 else s for a, s in zip(axes, starts, strict=True)]
    return new_starts, new_ends, [a % 3 for a in axes]


def common_residue(plan: Plan, tracking: Tracking) -> tuple[int, int] | None:
    """(c, M): padded input lengths = c mod M make every rows value a whole number of rows.

    A value in rows of d is `shrink` shorter than the input, so the padded input length must
    be = shrink (mod d), for every such value; None when no length satisfies them all.
    """
    wanted: dict[int, int] = {}
    for node, width in plan.nodes.items():
        for value in (*node.inputs, *node.outputs):
            found = tracking.tracks.get(value) if value is not None else None
            if found is None:
                continue
            if wanted.setdefault(width, found.shrink % width) != found.shrink % width:
                return None
    modulus = math.lcm(*wanted) if wanted else 1
    residue = next((c for c in range(modulus)
                    if all(c % d == r for d, r in wanted.items())), None)
    return None if residue is None else (residue, modulus)


class Rewriter:
    """Applies a plan: rows convs, layout-free nodes in rows, Reshapes where layouts change."""

    def __init__(self, graph: ir.Graph, plan: Plan, tracking: Tracking) -> None:
        self.graph, self.plan, self.tracks = graph, plan, tracking.tracks
        self.converted: dict[tuple[ir.Value, int], ir.Value] = {}

    def apply(self) -> None:
        """Rewrite every node of the plan; give flat tensors to every other reader."""
        for node in list(self.graph):
            width = self.plan.nodes.get(node)
            if width is None:
                for index, value in enumerate(node.inputs):
                    if value is not None and self.plan.layouts.get(value):
                        node.replace_input_with(index, self.layout(value, 0))
            elif is_op(node, "Conv"):
                self.conv(node, width)
            else:
                self.in_rows(node, width)
        for index, value in enumerate(self.graph.outputs):
            if self.plan.layouts.get(value):
                flat, name = self.layout(value, 0), value.name
                value.name = f"{name}_rows"
                flat.name = name
                self.graph.outputs[index] = flat

    def layout(self, value: ir.Value, width: int) -> ir.Value:
        """`value` in rows of `width` (0: flat), reshaped once however many readers want it."""
        if self.plan.layouts.get(value, 0) == width:
            return value
        key = (value, width)
        if key not in self.converted:
            shape = [0, 0, -1, width] if width else [0, 0, -1]
            target = initializer(self.graph, f"{value.name}_as_{width or 'flat'}",
                                 np.array(shape, np.int64))
            reshape = ir.node("Reshape", [value, target])
            producer = value.producer()
            if producer is None:
                self.graph.insert_before(self.graph[0], reshape)
            else:
                self.graph.insert_after(producer, reshape)
            reshape.outputs[0].dtype = value.dtype
            self.converted[key] = reshape.outputs[0]
            self.plan.layouts[reshape.outputs[0]] = width
        return self.converted[key]

    def conv(self, node: ir.Node, width: int) -> None:
        """A 1-D Conv (dilated, or 1x1) as a Conv over rows of `width`: (k, 1) kernel."""
        kernel = constant(node.inputs[1])
        assert kernel is not None
        dilation = node.attributes.get_ints("dilations", [1])[0]
        left, right = conv_pads(node, (kernel.shape[2] - 1) * dilation)
        name = node.outputs[0].name or "conv"
        weights = initializer(self.graph, f"{name}_rows_kernel", kernel[:, :, :, None])
        attributes = {"kernel_shape": [int(kernel.shape[2]), 1],
                      "pads": [left // width, 0, right // width, 0],
                      "group": node.attributes.get_int("group", 1)}
        rows = ir.node("Conv", [self.layout(node.inputs[0], width), weights, *node.inputs[2:]],
                       attributes)
        self.graph.insert_before(node, rows)
        output = node.outputs[0]
        output.name = f"{name}_flat"
        output.replace_all_uses_with(rows.outputs[0], replace_graph_outputs=True)
        rows.outputs[0].name, rows.outputs[0].dtype = name, output.dtype
        self.plan.layouts[rows.outputs[0]] = width
        self.graph.remove(node, safe=True)

    def in_rows(self, node: ir.Node, width: int) -> None:
        """A layout-free node reading rows: its constants and crop bounds follow the layout."""
        for index, value in enumerate(node.inputs):
            if value is None:
                continue
            if value in self.plan.layouts or value in self.tracks:
                node.replace_input_with(index, self.layout(value, width))
            elif is_op(node, *BINARY, "PRelu"):
                array = constant(value)
                if array is not None and array.ndim >= 2:
                    node.replace_input_with(index, initializer(
                        self.graph, f"{value.name}_rows", array[..., None]))
        if is_op(node, "Slice"):
            bounds = whole_rows(node, width)
            assert bounds is not None
            for index, numbers in zip((1, 2, 3), bounds, strict=True):
                node.replace_input_with(index, initializer(
                    self.graph, f"{node.outputs[0].name}_rows_bounds", np.array(numbers,
                                                                             np.int64)))
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
    nodes.append(ir.node("Sub", [int64s(graph, "rows_residue", [residue]), length]))
    nodes.append(ir.node("Mod", [nodes[-1].outputs[0], int64s(graph, "rows_modulus", [modulus])]))
    parts = [int64s(graph, "pads_before", [0] * (rank + axis)), nodes[-1].outputs[0]]
    if rank - axis - 1:
        parts.append(int64s(graph, "pads_after", [0] * (rank - axis - 1)))
    nodes.append(ir.node("Concat", parts, {"axis": 0}))
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
