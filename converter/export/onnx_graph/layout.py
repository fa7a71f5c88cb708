"""What layout-only ONNX nodes do to axes, and how to emit them at any opset.

A layout node (Transpose, Squeeze, Unsqueeze, Identity, and a Reshape that only moves
size-1 axes) is described by an axis map: for each output axis, the input axis it carries,
or None for a new size-1 axis. Maps compose, so a chain of such nodes is one map, and a
chain whose map is a permutation is one Transpose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx_ir as ir

AxisMap = tuple[int | None, ...]
LAYOUT_OPS = ("Transpose", "Squeeze", "Unsqueeze", "Identity", "Reshape")


def is_op(node: ir.Node, *op_types: str) -> bool:
    """Whether `node` is one of the default-domain ONNX ops named."""
    return node.domain in ("", "ai.onnx") and node.op_type in op_types


def per_channel(array: np.ndarray | None, channels: int | None = None) -> np.ndarray | None:
    """A (C,) vector from a float constant that broadcasts along axis 1 only.

    Shapes (1, C, 1, ...) and (C, 1, ...) qualify (a rank-1 (C,) would broadcast along the
    last axis instead); `channels`, when given, must match C.
    """
    if array is None or array.ndim < 2 or array.dtype.kind != "f":
        return None
    shape = array.shape if array.shape[0] == 1 else (1, *array.shape)
    if any(d != 1 for axis, d in enumerate(shape) if axis != 1):
        return None
    if channels is not None and shape[1] != channels:
        return None
    return array.reshape(-1)


def take_over(old: ir.Value, new: ir.Value) -> None:
    """`new` replaces `old` for every reader (graph outputs too) and takes its name.

    Names carry the Keras layer scopes that localisation maps tensors by.
    """
    name = old.name
    old.name = f"{name}_replaced"
    old.replace_all_uses_with(new, replace_graph_outputs=True)
    new.name = name


def constant(value: ir.Value | None) -> np.ndarray | None:
    """The value's constant contents (initializer or Constant node), or None."""
    if value is None:
        return None
    tensor = ir.convenience.get_const_tensor(value)
    return None if tensor is None else tensor.numpy()


def int_list(node: ir.Node, name: str, input_index: int) -> list[int] | None:
    """An integer list given as attribute `name` (old opsets) or as a constant input."""
    attribute = node.attributes.get(name)
    if attribute is not None:
        return [int(v) for v in attribute.value]
    if len(node.inputs) > input_index:
        array = constant(node.inputs[input_index])
        if array is not None:
            return [int(v) for v in array.reshape(-1)]
    return None


def rank(value: ir.Value) -> int | None:
    """The value's rank when shape inference or a pass recorded it."""
    return None if value.shape is None else len(value.shape)


def axis_map(node: ir.Node, rank_in: int) -> AxisMap | None:
    """The axis map of a layout node whose input has rank `rank_in`; None if not layout-only."""
    if not is_op(node, *LAYOUT_OPS):
        return None
    if node.op_type == "Identity":
        return tuple(range(rank_in))
    if node.op_type == "Transpose":
        perm = node.attributes.get("perm")
        return tuple(range(rank_in))[::-1] if perm is None else tuple(int(p) for p in perm.value)
    if node.op_type == "Reshape":
        return reshape_map(node)
    axes = int_list(node, "axes", 1)
    if axes is None:
        return None
    if node.op_type == "Squeeze":
        dropped = {a % rank_in for a in axes}
        return tuple(a for a in range(rank_in) if a not in dropped)
    rank_out = rank_in + len(axes)
    added = {a % rank_out for a in axes}
    inputs = iter(range(rank_in))
    return tuple(None if a in added else next(inputs) for a in range(rank_out))


def reshape_map(node: ir.Node) -> AxisMap | None:
    """A Reshape's axis map when it only inserts, drops or moves size-1 axes.

    The non-unit input dims must reappear in order: static ones equal, dynamic ones copied
    by a 0 entry or matched by the one -1 entry.
    """
    source, target = node.inputs[0], constant(node.inputs[1] if len(node.inputs) > 1 else None)
    if source is None or source.shape is None or target is None:
        return None
    dims = list(source.shape)
    wanted = [a for a, d in enumerate(dims) if d != 1]
    result: list[int | None] = []
    cursor = 0
    for index, entry in enumerate(int(t) for t in target.reshape(-1)):
        if entry == 1:
            result.append(None)
            continue
        if cursor >= len(wanted):
            return None
        axis = wanted[cursor]
        same = (entry == 0 and index == axis) or entry == -1 or (
            isinstance(dims[axis], int) and dims[axis] == entry)
        if not same:
            return None
        result.append(axis)
        cursor += 1
    minus_ones = sum(1 for t in target.reshape(-1) if int(t) == -1)
    return tuple(result) if cursor == len(wanted) and minus_ones <= 1 else None


def compose(first: AxisMap, second: AxisMap) -> AxisMap:
    """The map of applying `first`, then `second`."""
    return tuple(None if axis is None else first[axis] for axis in second)


def as_permutation(mapping: AxisMap, shape: ir.Shape | None) -> tuple[int, ...] | None:
    """The permutation a map amounts to, if it only reorders the input's axes.

    A map that drops size-1 input axes and adds as many new size-1 axes reorders too: the
    dropped axes fill the new positions in order.
    """
    rank_in = len(shape) if shape is not None else len(mapping)
    missing = [a for a in range(rank_in) if a not in mapping]
    if len(missing) != mapping.count(None) or len(mapping) != rank_in:
        return None
    if missing and (shape is None or any(shape[a] != 1 for a in missing)):
        return None
    fill = iter(missing)
    return tuple(next(fill) if a is None else a for a in mapping)


def initializer(graph: ir.Graph, base: str, array: np.ndarray) -> ir.Value:
    """A new initializer holding `array`, named `base` or `base_N` when that is taken."""
    name, count = base, 0
    while name in graph.initializers:
        count += 1
        name = f"{base}_{count}"
    value = ir.Value(name=name, const_value=ir.tensor(array, name=name))
    value.shape, value.dtype = ir.Shape(array.shape), ir.tensor(array).dtype
    graph.register_initializer(value)
    return value


def opset(model: ir.Model) -> int:
    """The model's default-domain opset."""
    return int(model.opset_imports.get("", model.opset_imports.get("ai.onnx", 17)))


def axes_node(
    graph: ir.Graph, op_type: str, value: ir.Value, axes: Sequence[int], version: int
) -> ir.Node:
    """A Squeeze/Unsqueeze of `value`: axes as an input from opset 13, an attribute before."""
    if version >= 13:
        axes_value = initializer(graph, f"{op_type.lower()}_axes", np.array(axes, np.int64))
        return ir.node(op_type, [value, axes_value])
    return ir.node(op_type, [value], {"axes": list(axes)})
