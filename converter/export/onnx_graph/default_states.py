"""Pass: a recurrent op's zero initial state, built at run time -> the default it already has.

Given: tf2onnx builds each LSTM/GRU/RNN's initial hidden (and cell) state as zeros of the
run-time batch: Slice -> Squeeze -> Shape -> ConstantOfShape -> Tile -> Unsqueeze -> Concat,
9-34 shape nodes per recurrent model. ONNX's LSTM, GRU and RNN start from zeros when
initial_h / initial_c are absent.
Result: every initial state input that is zero by construction is left out; `remove_unused`
then drops the chain that built it. A state that is not provably zero stays.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, is_op

RECURRENT = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}  # op -> its initial-state inputs
# Ops whose output is zero wherever their first input is (moving or repeating values).
KEEPS_ZERO = ("Tile", "Expand", "Unsqueeze", "Squeeze", "Reshape", "Transpose", "Identity",
              "Cast", "Slice", "Gather")


def run(model: ir.Model) -> int:
    """Leave out every zero initial state; returns how many inputs were dropped."""
    dropped = 0
    for node in list(model.graph):
        for index in RECURRENT.get(node.op_type, ()) if node.domain in ("", "ai.onnx") else ():
            if index < len(node.inputs) and is_zero(node.inputs[index]):
                node.replace_input_with(index, None)
                dropped += 1
    return dropped


def is_zero(value: ir.Value | None, depth: int = 0) -> bool:
    """Whether every element of `value` is 0 by construction (constants and what keeps them)."""
    if value is None or depth > 16:
        return False
    array = constant(value)
    if array is not None:
        return bool(array.size) and not np.any(array)
    node = value.producer()
    if node is None:
        return False
    if is_op(node, "ConstantOfShape"):
        fill = node.attributes.get("value")
        return fill is None or not np.any(fill.value.numpy())
    if is_op(node, *KEEPS_ZERO):
        return is_zero(node.inputs[0], depth + 1)
    if is_op(node, "Concat"):
        return all(is_zero(x, depth + 1) for x in node.inputs)
    return False
