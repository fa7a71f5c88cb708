"""Pass: Reshape targets computed at run time from sizes already known become constants.

Given: tf2onnx computes some Reshape targets with a chain of shape ops (Shape, Cast, Gather,
Slice, Concat, Unsqueeze): TensorFlow's Tensordot, which a Keras 2 Dense on a sequence and a
TimeDistributed Dense write, flattens (N, W, C) to rows, multiplies, and reshapes back to
(N, W, K) by reading N and W from the input's shape at run time.
Result: the chain is evaluated over symbols (a dimension is a number, or "axis a of value
v"). A target whose entries are numbers, copies of the reshaped tensor's own axes (0) and at
most one unknown (-1) becomes a constant; a Tensordot whose target is the input's leading
axes and K becomes one MatMul of the rank-3 input (ONNX MatMul broadcasts). The shape ops
are left unread for remove_unused.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, int_list, is_op, take_over
from converter.export.onnx_graph.layout_ops import UNARY
from converter.export.onnx_graph.values import typed_like


class Unknown:
    """An entry computed from run-time sizes in a way not followed (a product of two)."""


UNKNOWN = Unknown()
Dim = int | tuple[ir.Value, int] | Unknown
ARITHMETIC = {"Mul": lambda a, b: a * b, "Add": lambda a, b: a + b,
              "Sub": lambda a, b: a - b, "Div": lambda a, b: a // b}


def run(model: ir.Model) -> int:
    """Fix every Reshape target that can be; returns how many Reshapes changed."""
    graph, changed = model.graph, 0
    for node in list(graph):
        if not is_op(node, "Reshape") or len(node.inputs) < 2 or node.inputs[0] is None:
            continue
        dims = evaluate(node.inputs[1])
        if dims is None:
            continue
        if one_matmul(graph, node, dims):
            changed += 1
            continue
        target = None if constant(node.inputs[1]) is not None else as_target(dims, node.inputs[0])
        if target is not None:
            node.replace_input_with(1, initializer(graph, "reshape_target",
                                                   np.array(target, np.int64)))
            changed += 1
    return changed


def same(dim: Dim, value: ir.Value, axis: int) -> bool:
    """Whether `dim` is axis `axis` of `value` (the same symbol, or the same number)."""
    if value.shape is None or axis >= len(value.shape):
        return False
    known = value.shape[axis]
    if isinstance(dim, Unknown):
        return False
    if isinstance(dim, int):
        return isinstance(known, int) and known == dim
    source, source_axis = dim
    if (source, source_axis) in carried(value, axis):
        return True
    other = source.shape[source_axis] if source.shape is not None else None
    if other is None or isinstance(other, int) or isinstance(known, int):
        return False
    return known.value is not None and known.value == other.value


def carried(value: ir.Value, axis: int) -> list[tuple[ir.Value, int]]:
    """(value, axis) and the axes upstream whose size it has.

    Followed through a Tile by 1 along it, Unsqueeze, Transpose and elementwise ops (shape
    inference loses the symbol across some of these).
    """
    found = [(value, axis)]
    node = value.producer()
    while node is not None and node.inputs and node.inputs[0] is not None:
        source = node.inputs[0]
        if is_op(node, "Tile"):
            repeats = constant(node.inputs[1])
            if repeats is None or int(repeats[axis]) != 1:
                break
        elif is_op(node, "Unsqueeze"):
            count = len(value.shape) if value.shape is not None else 0
            added = [a % count for a in int_list(node, "axes", 1) or []] if count else [axis]
            if axis in added:
                break
            axis -= sum(1 for a in added if a < axis)
        elif is_op(node, "Transpose"):
            axis = int(node.attributes.get_ints("perm", [])[axis])
        elif not is_op(node, *UNARY):
            break
        value = source
        found.append((value, axis))
        node = value.producer()
    return found


def as_target(dims: list[Dim], data: ir.Value) -> list[int] | None:
    """A constant Reshape target for `dims`: numbers, 0 for the data's own axes, one -1."""
    target, unknown = [], 0
    for axis, dim in enumerate(dims):
        if isinstance(dim, int) and dim > 0:
            target.append(dim)
        elif same(dim, data, axis):
            target.append(0)
        elif isinstance(dim, int) and dim != -1:
            return None
        else:
            target.append(-1)
            unknown += 1
    return target if unknown <= 1 else None


def one_matmul(graph: ir.Graph, reshape: ir.Node, dims: list[Dim]) -> bool:
    """Reshape(MatMul(Reshape(x, [-1, C]), W), [x's leading axes..., K]) -> MatMul(x, W).

    One leading entry may be -1: the others being x's, it is x's too.
    """
    product = reshape.inputs[0].producer() if reshape.inputs[0] is not None else None
    if product is None or not is_op(product, "MatMul") or product.inputs[0] is None:
        return False
    weights, rows = constant(product.inputs[1]), product.inputs[0].producer()
    if weights is None or weights.ndim != 2 or rows is None or not is_op(rows, "Reshape"):
        return False
    source, flat = rows.inputs[0], constant(rows.inputs[1]) if len(rows.inputs) > 1 else None
    if source is None or source.shape is None or flat is None or flat.tolist()[-1:] != [
            weights.shape[0]] or len(dims) != len(source.shape):
        return False
    free = [d for d in dims[:-1] if d == -1 or isinstance(d, Unknown)]
    leading = [same(d, source, a) or d in free for a, d in enumerate(dims[:-1])]
    if not all(leading) or len(free) > 1 or dims[-1] != int(weights.shape[1]) or (
            not same(int(weights.shape[0]), source, len(dims) - 1)):
        return False
    matmul = ir.node("MatMul", [source, product.inputs[1]], name=product.name)
    graph.insert_before(reshape, matmul)
    typed_like(matmul.outputs[0], reshape.outputs[0])
    take_over(reshape.outputs[0], matmul.outputs[0])
    return True


def evaluate(value: ir.Value | None) -> list[Dim] | None:
    """The entries of an int tensor computed from shapes and constants, or None."""
    if value is None:
        return None
    array = constant(value)
    if array is not None:
        return [int(v) for v in array.reshape(-1)] if array.dtype.kind in "iu" else None
    node = value.producer()
    if node is None or node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Shape":
        return shape_of(node)
    if node.op_type in ("Cast", "Identity", "Squeeze", "Unsqueeze"):
        return evaluate(node.inputs[0])
    if node.op_type == "Concat":
        parts = [evaluate(v) for v in node.inputs]
        return None if any(p is None for p in parts) else [d for p in parts if p for d in p]
    if node.op_type == "Gather" and node.attributes.get_int("axis", 0) == 0:
        data, picks = evaluate(node.inputs[0]), constant(node.inputs[1])
        if data is None or picks is None:
            return None
        return [data[int(i)] for i in picks.reshape(-1)]
    if node.op_type == "Slice":
        return sliced(node)
    if node.op_type in ARITHMETIC:
        return arithmetic(node)
    return None


def arithmetic(node: ir.Node) -> list[Dim] | None:
    """Elementwise arithmetic on one-entry vectors.

    A number when every operand is one, else an entry no one knows (a Reshape can still
    take it as its one -1).
    """
    operands = [evaluate(v) for v in node.inputs]
    if any(o is None or len(o) != 1 for o in operands):
        return None
    numbers = [o[0] for o in operands if o is not None and isinstance(o[0], int)]
    if len(numbers) != len(operands):
        return [UNKNOWN]
    return [int(ARITHMETIC[node.op_type](*numbers))]


def shape_of(node: ir.Node) -> list[Dim] | None:
    """Shape(x) with its start and end: x's static sizes, symbols for the rest."""
    source = node.inputs[0]
    if source is None or source.shape is None:
        return None
    dims: list[Dim] = [d if isinstance(d, int) else (source, a)
                       for a, d in enumerate(source.shape)]
    start = node.attributes.get_int("start", 0)
    end = node.attributes.get_int("end", len(dims))
    return dims[start:end]


def sliced(node: ir.Node) -> list[Dim] | None:
    """A Slice of a 1-D shape vector with constant bounds."""
    data = evaluate(node.inputs[0])
    starts, ends = int_list(node, "starts", 1), int_list(node, "ends", 2)
    steps = int_list(node, "steps", 4) or [1]
    axes = int_list(node, "axes", 3) or [0]
    if data is None or starts is None or ends is None or len(starts) != 1 or axes != [0]:
        return None
    return data[starts[0]:ends[0]:steps[0]]
