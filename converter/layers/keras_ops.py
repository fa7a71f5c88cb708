"""Keras 3 operations recorded as layers: which table function each one is.

Keras 3 writes `x + y`, `keras.ops.mean(x, axis=1)` on Keras tensors as nodes whose entry's
module is `keras.src.ops.<family>` and whose class is the operation (`numpy.Add`, with the
settings `axis` and `keepdims` in its config, the tensors as positional arguments). The
loader names such a layer `KerasOp`; the `tf_op_layers` pass looks its operation up here and
computes it with the TF-op table (`tf_ops.FUNCTIONS`), the positional arguments taking the
function's parameters in order and each setting renamed to the parameter it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CLASS = "KerasOp"
OPERATION = "operation"


@dataclass(frozen=True)
class Operation:
    """A Keras 3 operation as a table function, and how its settings are named there."""

    function: str
    renames: Mapping[str, str] = field(default_factory=dict)


REDUCTIONS = {"Mean": "mean", "Sum": "sum", "Max": "max", "Min": "min", "Prod": "prod"}
OPERATIONS: dict[str, Operation] = {
    **{f"numpy.{name}": Operation(function) for name, function in (
        ("Add", "math.add"), ("Subtract", "math.subtract"), ("Multiply", "math.multiply"),
        ("Divide", "math.truediv"), ("TrueDivide", "math.truediv"),
        ("Maximum", "math.maximum"), ("Minimum", "math.minimum"), ("Power", "math.pow"),
        ("Negative", "math.negative"), ("Absolute", "math.abs"), ("Abs", "math.abs"),
        ("Exp", "math.exp"), ("Log", "math.log"), ("Sqrt", "math.sqrt"),
        ("Square", "math.square"), ("Tanh", "math.tanh"), ("Sin", "math.sin"),
        ("Cos", "math.cos"), ("Matmul", "linalg.matmul"), ("Concatenate", "concat"),
        ("Stack", "stack"), ("ExpandDims", "expand_dims"), ("Squeeze", "squeeze"))},
    **{f"numpy.{name}": Operation(f"math.reduce_{op}") for name, op in REDUCTIONS.items()},
    "numpy.Reshape": Operation("reshape", {"newshape": "shape"}),
    "numpy.Transpose": Operation("transpose", {"axes": "perm"}),
    "numpy.Tile": Operation("tile", {"repeats": "multiples"}),
    "numpy.Clip": Operation("clip_by_value", {"x_min": "clip_value_min",
                                              "x_max": "clip_value_max"}),
    **{f"nn.{name}": Operation(f"nn.{name.lower()}") for name in (
        "Relu", "Relu6", "Sigmoid", "Silu", "Selu", "Softplus", "Softsign", "Softmax",
        "Gelu")},
    "nn.LeakyRelu": Operation("nn.leaky_relu", {"negative_slope": "alpha"}),
}
# Settings Keras records at their default, which change nothing computed.
INERT = {"initial": None, "dtype": None}


def settings(config: Mapping[str, Any], operation: Operation) -> dict[str, Any]:
    """An operation's recorded settings under the table function's parameter names."""
    return {operation.renames.get(key, key): value for key, value in config.items()
            if key not in ("name", OPERATION, "trainable", "dtype")
            and not (key in INERT and value == INERT[key])}
