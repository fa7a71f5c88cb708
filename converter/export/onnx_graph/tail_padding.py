"""Which values carry the input's length, and whether padding its end changes any output.

Given: a graph whose one dynamic-length input is read only by ops that keep positions in
place: stride-1 convolutions, elementwise and per-channel ops, crops, concatenation of
channels, transposes and other layout-only nodes. Padding that input's end with e zeros
lengthens each such value by e at its end, and can change only the last `tainted` true
positions of each: a conv that pads its end (a "same" conv) reads the padded positions where
the original read its own zeros, so it taints as many positions as it pads (its right
reach), and a crop at the end removes tainted positions. SpliceAI's "same" convs taint 5,000
positions in all and its Cropping1D removes 5,000, a causal TCN taints none.
Result: each value's length axis, how much shorter than the input it is (`shrink`, static),
and how many of its true positions padding may change; `padding_is_exact` holds when every
output ends untainted, so the padded graph, its outputs sliced to their true lengths,
computes exactly what the original does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import onnx_ir as ir

from converter.export.onnx_graph.layout import LAYOUT_OPS, axis_map, constant, int_list, is_op
from converter.export.onnx_graph.values import required, static_dims

UNARY = frozenset((
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu",
    "Celu", "Gelu", "Softplus", "Softsign", "Clip", "Identity", "Cast", "Exp", "Log", "Abs",
    "Neg", "Sqrt", "Erf", "Reciprocal", "Dropout", "BatchNormalization",
))
BINARY = frozenset(("Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Sum", "Mean"))
# A Slice end at or beyond this reads to the end of its axis (tf2onnx writes INT64_MAX).
TO_THE_END = 2 ** 62


@dataclass(frozen=True)
class Track:
    """A value that carries the input's length: on `axis`, `shrink` steps shorter than it."""

    axis: int
    shrink: int
    tainted: int = 0


@dataclass(frozen=True)
class Tracking:
    """The padded input, its length axis, and the track of every value that carries it."""

    source: ir.Value
    tracks: dict[ir.Value, Track]
    outputs: tuple[ir.Value, ...]  # the graph outputs that carry the length

    @property
    def padding_is_exact(self) -> bool:
        """Whether no graph output has a true position the padding could change."""
        return all(self.tracks[v].tainted == 0 for v in self.outputs)


def track(graph: ir.Graph) -> Tracking | None:
    """The tracks of a graph with one dynamic-length input, or None when one op is unknown."""
    dynamic = [(v, axis) for v in graph.inputs for axis in dynamic_axes(v)]
    if len(dynamic) != 1:
        return None
    source, axis = dynamic[0]
    tracks = {source: Track(axis, 0)}
    for node in graph:
        carried = [tracks.get(v) for v in node.inputs if v is not None]
        if not any(carried):
            continue
        result = step(node, tracks)
        if result is None:
            return None
        tracks.update({output: result for output in node.outputs})
    return Tracking(source, tracks, tuple(v for v in graph.outputs if v in tracks))


def plane_tracking(graph: ir.Graph) -> Tracking | None:
    """Tracks for the (N, C, 1, L) layout alone, whatever reads the length.

    Every (N, C, L) value whose L is dynamic. The plane needs no padding, so no shrink or
    taint is followed; None when no value qualifies.
    """
    values = [*graph.inputs, *(v for node in graph for v in node.outputs)]
    tracks = {v: Track(2, 0) for v in values
              if v.shape is not None and len(v.shape) == 3 and not isinstance(v.shape[2], int)}
    if not tracks:
        return None
    source = next(iter(tracks))
    return Tracking(source, tracks, tuple(v for v in graph.outputs if v in tracks))


def dynamic_axes(value: ir.Value) -> list[int]:
    """The non-batch axes of a graph input whose size is not fixed."""
    if value.shape is None:
        return []
    return [a for a, d in enumerate(value.shape) if a > 0 and not isinstance(d, int)]


def step(node: ir.Node, tracks: dict[ir.Value, Track]) -> Track | None:
    """The track of a node's outputs from its inputs', or None if it mixes positions."""
    if len(node.outputs) != 1:
        return None
    if is_op(node, *BINARY, "Concat"):
        return merge_step(node, tracks)
    first = tracks.get(node.inputs[0]) if node.inputs[0] is not None else None
    if first is None:
        return None
    if is_op(node, *LAYOUT_OPS):  # Transpose, and Reshape/Squeeze/Unsqueeze of size-1 axes
        shape = required(node).shape
        mapping = axis_map(node, len(shape)) if shape is not None else None
        if mapping is None or first.axis not in mapping:
            return None
        return replace(first, axis=mapping.index(first.axis))
    if is_op(node, "Conv"):
        return conv_step(node, first)
    if is_op(node, "Slice"):
        return slice_step(node, first)
    if is_op(node, *UNARY):
        others = [v for v in node.inputs[1:] if v is not None]
        return first if all(v not in tracks and along_axis(v, first) == 1 for v in others) \
            else None
    if is_op(node, "Softmax", "LogSoftmax"):
        shape = required(node).shape
        rank = len(shape) if shape is not None else None
        softmax_axis = node.attributes.get_int("axis", -1)
        return first if rank is not None and softmax_axis % rank != first.axis else None
    return None


def conv_step(node: ir.Node, first: Track) -> Track | None:
    """A stride-1 1-D Conv: shorter by its reach less its pads, tainted by its right pad."""
    kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
    if kernel is None or kernel.ndim != 3 or first.axis != 2:
        return None
    if list(node.attributes.get_ints("strides", [1])) != [1]:
        return None
    reach = (kernel.shape[2] - 1) * node.attributes.get_ints("dilations", [1])[0]
    left, right = conv_pads(node, reach)
    return Track(2, first.shrink + reach - left - right, first.tainted + right)


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


def slice_step(node: ir.Node, first: Track) -> Track | None:
    """A crop with constant bounds: from the start, and only relative to the end."""
    shape = required(node).shape
    rank = len(shape) if shape is not None else None
    bounds = slice_bounds(node)
    if rank is None or bounds is None:
        return None
    for axis, start, end, stride in zip(*bounds, strict=True):
        if axis % rank != first.axis:
            continue
        removed = 0 if end >= TO_THE_END else -end
        if stride != 1 or start < 0 or removed < 0:
            return None  # an end counted from the start would cut the padded length wrongly
        return Track(first.axis, first.shrink + start + removed, max(0, first.tainted - removed))
    return first


def slice_bounds(node: ir.Node) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """A Slice's constant (axes, starts, ends, steps), whichever way the opset writes them."""
    starts, ends = int_list(node, "starts", 1), int_list(node, "ends", 2)
    if starts is None or ends is None:
        return None
    axes = int_list(node, "axes", 3) or list(range(len(starts)))
    return axes, starts, ends, int_list(node, "steps", 4) or [1] * len(starts)


def merge_step(node: ir.Node, tracks: dict[ir.Value, Track]) -> Track | None:
    """Elementwise ops and Concat: every carrying input aligned alike, constants not along it."""
    inputs = [v for v in node.inputs if v is not None]
    carried = [tracks[v] for v in inputs if v in tracks]
    first = carried[0]
    if any((t.axis, t.shrink) != (first.axis, first.shrink) for t in carried):
        return None
    if is_op(node, "Concat"):
        rank = len(inputs[0].shape) if inputs[0].shape is not None else None
        if rank is None or node.attributes.get_int("axis", 0) % rank == first.axis:
            return None
    rank_out = max(len(v.shape) if v.shape is not None else 0 for v in inputs)
    if any(v not in tracks and along_axis(v, first, rank_out) != 1 for v in inputs):
        return None
    return Track(first.axis, first.shrink, max(t.tainted for t in carried))


def along_axis(value: ir.Value, track_: Track, rank_out: int | None = None) -> int | None:
    """A constant operand's size along the tracked axis when broadcast (1 when it has none).

    None when the operand is not a known constant of known shape.
    """
    dims = static_dims(value.shape)
    if dims is None:
        return None
    if rank_out is None:  # per-channel operands (BatchNormalization's, PRelu's slope)
        return 1 if len(dims) <= 1 or dims[-1] == 1 else None
    position = track_.axis - (rank_out - len(dims))
    return 1 if position < 0 else dims[position]
