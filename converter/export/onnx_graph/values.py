"""Checked access to ONNX values: a node's required inputs, a value's type and shape."""

from __future__ import annotations

import onnx_ir as ir

from converter.errors import InternalError


def typed_like(target: ir.Value, source: ir.Value | None) -> None:
    """`target` takes `source`'s shape and element type (what a rewrite keeps)."""
    if source is None:
        return
    target.shape = source.shape
    if source.dtype is not None:
        target.dtype = source.dtype


def required(node: ir.Node, index: int = 0) -> ir.Value:
    """A node's input the ONNX spec requires; a missing one is converter's bug."""
    value = node.inputs[index]
    if value is None:
        raise InternalError(f"{node.op_type} node {node.name!r} lacks its input {index}")
    return value


def static_dims(shape: ir.Shape | None) -> list[int] | None:
    """A shape's dimensions when every one is a known int, else None."""
    if shape is None or not all(isinstance(d, int) for d in shape):
        return None
    return [int(d) for d in shape if isinstance(d, int)]
