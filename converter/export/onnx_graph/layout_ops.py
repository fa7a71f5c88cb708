"""Which ONNX ops can compute in another axis order, and how each is rewritten to do so.

An op is movable when permuting the axes of its inputs and outputs (all of one rank, its
frame) gives the same numbers once its axis attributes and constant operands are permuted
too: elementwise ops, Concat/Split, Softmax-like ops over one axis, reductions, Squeeze,
Pad and Slice. Every other op (Conv, pooling, BatchNormalization, Reshape, recurrent ops...)
needs the layout it has; a MatMul applying constant weights at every step of a sequence
runs channels-last as it is or channels-first as a 1x1 Conv. A relabelling is given by
`q`: the new tensor's axis i is the current tensor's axis q[i].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, int_list, is_op, rank

Perm = tuple[int, ...]

UNARY = frozenset({
    "Abs", "Acos", "Asin", "Atan", "Cast", "Ceil", "Celu", "Cos", "Elu", "Erf", "Exp", "Floor",
    "Gelu", "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN", "LeakyRelu", "Log", "Mish",
    "Neg", "Not", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Softplus",
    "Softsign", "Sqrt", "Tan", "Tanh", "ThresholdedRelu",
})
BROADCASTING = frozenset({
    "Add", "And", "Clip", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
    "Max", "Mean", "Min", "Mod", "Mul", "Or", "Pow", "PRelu", "Sub", "Sum", "Where", "Xor",
})
ONE_AXIS = frozenset({"Softmax", "LogSoftmax", "Hardmax"})
REDUCTIONS = frozenset({
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
    "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "ArgMax", "ArgMin",
})
# Ops that drop the axes they name, as a reduction with keepdims=0 does.
DROPPING = frozenset({"Squeeze"})
# Opsets from which a reduction (or Squeeze) reads its axes as an input, not an attribute.
AXES_INPUT_FROM = {"ReduceSum": 13, "Squeeze": 13}
AXES_INPUT_DEFAULT = 18


@dataclass(frozen=True)
class Movable:
    """The inputs and outputs of a movable op that carry its frame (one rank, one layout)."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    rank: int


def inverse(perm: Perm) -> Perm:
    """The permutation that undoes `perm`."""
    result = [0] * len(perm)
    for position, axis in enumerate(perm):
        result[axis] = position
    return tuple(result)


def movable(node: ir.Node, version: int) -> Movable | None:
    """The frame of `node` when it can run in another axis order, else None."""
    if node.domain not in ("", "ai.onnx") or not node.outputs:
        return None
    frame = rank(node.inputs[0]) if node.inputs and node.inputs[0] is not None else None
    if frame is None or frame < 2:
        return None
    kind = node.op_type
    if kind in UNARY or kind in BROADCASTING or kind == "Concat":
        return elementwise_frame(node, frame)
    if kind in ONE_AXIS and version >= 13 or kind in ("Split", "Pad", "Slice"):
        if not parameters_constant(node):
            return None
        return Movable((0,), tuple(range(len(node.outputs))), frame)
    if kind == "MatMul" and frame == 3 and per_step_weights(node) is not None:
        return Movable((0,), (0,), frame)
    if (kind in REDUCTIONS or kind in DROPPING) and reduction_axes(
            node, version, frame) is not None:
        return Movable((0,), (0,) if keeps_rank(node) else (), frame)
    return None


def keeps_rank(node: ir.Node) -> bool:
    """Whether a reduction keeps the axes it reduces (a Squeeze never does)."""
    return node.op_type not in DROPPING and node.attributes.get_int("keepdims", 1) == 1


def elementwise_frame(node: ir.Node, frame: int) -> Movable | None:
    """The frame of an elementwise op or Concat: its non-constant operands.

    They must have the output's rank; constants of lower rank broadcast; a lower-rank
    non-constant operand keeps the op where it is (None).
    """
    inputs = []
    for index, value in enumerate(node.inputs):
        if value is None:
            continue
        if constant(value) is None:
            if rank(value) != frame:
                return None
            inputs.append(index)
        elif value.shape is None or len(value.shape) > frame:
            return None
    if rank(node.outputs[0]) != frame:
        return None
    return Movable(tuple(inputs), (0,), frame)


def per_step_weights(node: ir.Node) -> np.ndarray | None:
    """A MatMul's constant (C, K) weights applied at every step of an (N, W, C) input.

    Channels-last it is a MatMul, channels-first the same numbers are a 1x1 Conv.
    """
    weights = constant(node.inputs[1]) if len(node.inputs) > 1 else None
    return weights if weights is not None and weights.ndim == 2 else None


def parameters_constant(node: ir.Node) -> bool:
    """Whether every input after the data (pads, starts, split sizes...) is a constant."""
    return all(value is None or constant(value) is not None for value in node.inputs[1:])


def reduction_axes(node: ir.Node, version: int, frame: int) -> list[int] | None:
    """A reduction's axes, normalised (all axes when it names none); None when unknown."""
    if node.op_type in ("ArgMax", "ArgMin"):
        return [node.attributes.get_int("axis", 0) % frame]
    from_input = version >= AXES_INPUT_FROM.get(node.op_type, AXES_INPUT_DEFAULT)
    if from_input and len(node.inputs) > 1 and node.inputs[1] is not None:
        axes = int_list(node, "", 1)
        return None if axes is None else [a % frame for a in axes]
    if not from_input and "axes" in node.attributes:
        return [int(a) % frame for a in node.attributes.get_ints("axes", [])]
    if node.op_type in DROPPING:
        return None  # a Squeeze of every size-1 axis: which those are is not known here
    if node.attributes.get_int("noop_with_empty_axes", 0):
        return None
    return list(range(frame))


def allowed(node: ir.Node, q: Perm, version: int) -> bool:
    """Whether the op can run relabelled by `q`.

    A rank-dropping reduction or Squeeze can only where the axes it keeps stay in their order.
    """
    if node.op_type == "MatMul":  # as it is, or channels-first as a 1x1 Conv
        return q in ((0, 1, 2), (0, 2, 1))
    if node.op_type not in REDUCTIONS | DROPPING or keeps_rank(node):
        return True
    axes = reduction_axes(node, version, len(q)) or []
    places = [inverse(q)[a] for a in range(len(q)) if a not in axes]
    return places == sorted(places)


def relabel(graph: ir.Graph, node: ir.Node, q: Perm, version: int) -> None:
    """Rewrite `node` to compute on inputs relabelled by `q`; its frame outputs follow."""
    frame = movable(node, version)
    assert frame is not None
    where = inverse(q)
    kind = node.op_type
    if kind in ONE_AXIS or kind in ("Concat", "Split"):
        default = -1 if kind in ONE_AXIS else 0
        node.attributes["axis"] = ir.AttrInt64(
            "axis", where[node.attributes.get_int("axis", default) % frame.rank])
        if kind == "Concat":  # a constant part is laid out like the others
            relabel_constants(graph, node, q, frame)
    elif kind == "Pad":
        relabel_pad(graph, node, q, version)
    elif kind == "Slice":
        relabel_slice(graph, node, where, frame.rank)
    elif kind in REDUCTIONS or kind in DROPPING:
        relabel_reduction(graph, node, where, version, frame.rank)
    elif kind == "MatMul":
        weights = per_step_weights(node)
        assert weights is not None and q == (0, 2, 1)
        node.op_type = "Conv"
        name = f"{node.inputs[1].name or 'dense'}_as_conv"  # type: ignore[union-attr]
        node.replace_input_with(1, initializer(graph, name, weights.T[:, :, None].copy()))
    else:
        relabel_constants(graph, node, q, frame)
    for index in frame.outputs:
        value = node.outputs[index]
        if value.shape is not None:
            value.shape = ir.Shape([value.shape[a] for a in q])


def relabel_constants(graph: ir.Graph, node: ir.Node, q: Perm, frame: Movable) -> None:
    """Broadcast constant operands take the new axis order (rank raised to the frame's)."""
    for index, value in enumerate(node.inputs):
        array = constant(value)
        if value is None or array is None or index in frame.inputs or array.ndim == 0:
            continue
        full = array.reshape((1,) * (frame.rank - array.ndim) + array.shape)
        name = f"{value.name or 'constant'}_relaid"
        node.replace_input_with(index, initializer(graph, name, np.transpose(full, q)))


def relabel_pad(graph: ir.Graph, node: ir.Node, q: Perm, version: int) -> None:
    """Pads (begins then ends per axis), or the axes they name, in the new order."""
    if version >= 18 and len(node.inputs) > 3 and node.inputs[3] is not None:
        axes = int_list(node, "", 3) or []
        replace_ints(graph, node, 3, [inverse(q)[a % len(q)] for a in axes], "pad_axes")
        return
    pads = int_list(node, "pads", 1)
    assert pads is not None
    count = len(q)
    moved = [pads[a] for a in q] + [pads[count + a] for a in q]
    if "pads" in node.attributes:
        node.attributes["pads"] = ir.AttrInt64s("pads", moved)
    else:
        replace_ints(graph, node, 1, moved, "pads")


def relabel_slice(graph: ir.Graph, node: ir.Node, where: Perm, frame: int) -> None:
    """The sliced axes, by their new positions (axes given or implied by `starts`)."""
    if "starts" in node.attributes:  # opset < 10
        count = len(node.attributes.get_ints("starts", []))
        axes = list(node.attributes.get_ints("axes", list(range(count))))
        node.attributes["axes"] = ir.AttrInt64s("axes", [where[a % frame] for a in axes])
        return
    starts = int_list(node, "", 1) or []
    given = int_list(node, "", 3) if len(node.inputs) > 3 else None
    axes = given if given is not None else list(range(len(starts)))
    while len(node.inputs) < 4:
        node.resize_inputs(len(node.inputs) + 1)
    replace_ints(graph, node, 3, [where[a % frame] for a in axes], "slice_axes")


def relabel_reduction(graph: ir.Graph, node: ir.Node, where: Perm, version: int,
                      frame: int) -> None:
    """A reduction's axes (attribute or input) by their new positions."""
    if node.op_type in ("ArgMax", "ArgMin"):
        node.attributes["axis"] = ir.AttrInt64(
            "axis", where[node.attributes.get_int("axis", 0) % frame])
        return
    from_input = version >= AXES_INPUT_FROM.get(node.op_type, AXES_INPUT_DEFAULT)
    if from_input and len(node.inputs) > 1 and node.inputs[1] is not None:
        axes = int_list(node, "", 1) or []
        replace_ints(graph, node, 1, sorted(where[a % frame] for a in axes), "reduce_axes")
    elif "axes" in node.attributes:
        axes = [int(a) for a in node.attributes.get_ints("axes", [])]
        node.attributes["axes"] = ir.AttrInt64s("axes", sorted(where[a % frame] for a in axes))


def replace_ints(graph: ir.Graph, node: ir.Node, index: int, values: list[int], base: str) -> None:
    """Input `index` of `node` becomes a new int64 initializer holding `values`."""
    node.replace_input_with(index, initializer(graph, base, np.array(values, np.int64)))


def is_transpose(node: ir.Node) -> bool:
    """Whether `node` is a Transpose whose permutation is known."""
    return is_op(node, "Transpose") and len(node.outputs) == 1 and node.inputs[0] is not None
