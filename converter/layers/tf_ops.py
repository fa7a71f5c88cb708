"""TF-op layers: the TensorFlow functions tf.keras records as layers, as one catalogue class.

tf.keras 2.x writes `x + y`, `tf.nn.relu(x)`, `x[:, 2:-2]` on Keras tensors as `TFOpLambda`
(or `SlicingOpLambda`) layers that name the function ("math.add") and record its arguments;
no code is stored. The `tf_op_layers` pass turns each into a `TFOp` layer whose config holds
the function and its arguments by TensorFlow's parameter names, tensors as placeholders
(`graph.call_args`). `FUNCTIONS` is the table of functions converter computes: each entry
computes with NumPy (the reference) and with keras.ops (the export form) from one
definition, so the two cannot drift apart. Anything else is refused naming the function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.graph.call_args import resolve
from converter.layers.activation import activation, softmax
from converter.layers.spec import Array, Config, Inputs, LayerSpec, Weights

ARGUMENTS = "arguments"
PART = "__part__"  # which piece of a split a TFOp layer computes


class Ops:
    """What an entry computes with: NumPy (float64) or keras.ops (the traced export)."""

    def __init__(self, module: Any, activations: Callable[[str], Any]) -> None:
        self.module = module
        self.activation = activations

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


NUMPY = Ops(np, activation)


@dataclass(frozen=True)
class Function:
    """A TensorFlow function: its parameters and what it computes from them.

    `params` are TensorFlow's names, in order; `compute(ops, arguments)` the value.
    """

    params: tuple[str, ...]
    compute: Callable[[Ops, dict[str, Any]], Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)


def axes(value: Any) -> Any:
    """An axis argument (int, list, None) as NumPy and keras.ops take it."""
    return tuple(value) if isinstance(value, list) else value


def binary(name: str) -> Function:
    """f(x, y) of the ops module's function `name`."""
    return Function(("x", "y"), lambda ops, a: getattr(ops, name)(a["x"], a["y"]))


def unary(compute: Callable[[Ops, Any], Any], param: str = "x") -> Function:
    """A function of one tensor."""
    return Function((param,), lambda ops, a: compute(ops, a[param]))


def named_activation(name: str) -> Function:
    """A tf.nn activation, by its Keras name."""
    return Function(("features",), lambda ops, a: ops.activation(name)(a["features"]))


def reduction(name: str) -> Function:
    """A tf.math reduction over axes."""
    return Function(("input_tensor", "axis", "keepdims"), lambda ops, a: getattr(ops, name)(
        a["input_tensor"], axis=axes(a["axis"]), keepdims=bool(a["keepdims"])),
        {"axis": None, "keepdims": False})


def slicing(spec: Any) -> Any:
    """A recorded slice_spec as an index: dicts are slices, "..." Ellipsis, None a new axis."""
    if isinstance(spec, list):
        return tuple(slicing(s) for s in spec)
    if isinstance(spec, Mapping) and set(spec) == {"start", "stop", "step"}:
        return slice(spec["start"], spec["stop"], spec["step"])
    if spec == "..." or (isinstance(spec, Mapping) and spec.get("class_name") == "__ellipsis__"):
        return Ellipsis
    return spec


def split_at(sizes: Any) -> Any:
    """num_or_size_splits as NumPy's split takes it: a count, or the cut indices."""
    return sizes if isinstance(sizes, int) else [int(i) for i in np.cumsum(sizes)[:-1]]


def leaky(ops: Ops, a: dict[str, Any]) -> Any:
    """tf.nn.leaky_relu."""
    x = a["features"]
    return ops.maximum(x, x * float(a["alpha"]))


def gelu(ops: Ops, a: dict[str, Any]) -> Any:
    """tf.nn.gelu: exact (erf) by default, the tanh form where `approximate`."""
    x = a["features"]
    if not a["approximate"]:
        return ops.activation("gelu")(x)
    return 0.5 * x * (1.0 + ops.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def soft_max(ops: Ops, a: dict[str, Any]) -> Any:
    """tf.nn.softmax over one axis."""
    axis = -1 if a["axis"] is None else int(a["axis"])
    return softmax(a["logits"], axis) if ops is NUMPY else ops.activation("softmax")(
        a["logits"], axis=axis)


UNARY = {"math.negative": lambda o, x: o.negative(x), "math.abs": lambda o, x: o.abs(x),
         "math.exp": lambda o, x: o.exp(x), "math.log": lambda o, x: o.log(x),
         "math.sqrt": lambda o, x: o.sqrt(x), "math.rsqrt": lambda o, x: 1.0 / o.sqrt(x),
         "math.square": lambda o, x: o.square(x), "math.reciprocal": lambda o, x: 1.0 / x,
         "math.sin": lambda o, x: o.sin(x), "math.cos": lambda o, x: o.cos(x),
         "math.tanh": lambda o, x: o.tanh(x), "math.sigmoid": lambda o, x: o.activation(
             "sigmoid")(x)}
FUNCTIONS: dict[str, Function] = {
    **{name: binary(op) for name, op in (
        ("__operators__.add", "add"), ("math.add", "add"), ("math.subtract", "subtract"),
        ("math.multiply", "multiply"), ("math.truediv", "divide"), ("math.divide", "divide"),
        ("math.maximum", "maximum"), ("math.minimum", "minimum"), ("math.pow", "power"))},
    "math.squared_difference": Function(("x", "y"), lambda o, a: o.square(a["x"] - a["y"])),
    **{name: unary(compute) for name, compute in UNARY.items()},
    **{f"nn.{name}": named_activation(name) for name in (
        "relu", "relu6", "elu", "selu", "softplus", "softsign", "silu", "swish", "sigmoid",
        "tanh")},
    "nn.gelu": Function(("features", "approximate"), gelu, {"approximate": False}),
    "math.softplus": named_activation("softplus"),
    "nn.leaky_relu": Function(("features", "alpha"), leaky, {"alpha": 0.2}),
    "nn.softmax": Function(("logits", "axis"), soft_max, {"axis": None}),
    **{f"math.reduce_{name}": reduction(op) for name, op in (
        ("mean", "mean"), ("sum", "sum"), ("max", "max"), ("min", "min"), ("prod", "prod"))},
    "reshape": Function(("tensor", "shape"), lambda o, a: o.reshape(a["tensor"], a["shape"])),
    # `conjugate` conjugates complex tensors; real ones it leaves alone.
    "transpose": Function(("a", "perm", "conjugate"), lambda o, a: o.transpose(
        a["a"], axes(a["perm"])), {"perm": None, "conjugate": False}),
    "concat": Function(("values", "axis"), lambda o, a: o.concatenate(a["values"], a["axis"])),
    "stack": Function(("values", "axis"), lambda o, a: o.stack(a["values"], a["axis"]),
                      {"axis": 0}),
    "expand_dims": Function(("input", "axis"), lambda o, a: o.expand_dims(a["input"],
                                                                           a["axis"])),
    "squeeze": Function(("input", "axis"), lambda o, a: o.squeeze(a["input"], axes(a["axis"])),
                        {"axis": None}),
    "tile": Function(("input", "multiples"), lambda o, a: o.tile(a["input"], a["multiples"])),
    "split": Function(("value", "num_or_size_splits", "axis"), lambda o, a: o.split(
        a["value"], split_at(a["num_or_size_splits"]), a["axis"])[a[PART]], {"axis": 0}),
    "identity": unary(lambda o, x: x, "input"),
    "reverse": Function(("tensor", "axis"), lambda o, a: o.flip(a["tensor"], axes(a["axis"]))),
    "clip_by_value": Function(("t", "clip_value_min", "clip_value_max"), lambda o, a: o.clip(
        a["t"], a["clip_value_min"], a["clip_value_max"])),
    "linalg.matmul": Function(("a", "b"), lambda o, a: o.matmul(a["a"], a["b"])),
    "__operators__.getitem": Function(("tensor", "slice_spec"),
                                      lambda o, a: a["tensor"][slicing(a["slice_spec"])]),
}
# tf.keras records some functions under their tf.compat.v1 name (tf.squeeze, tf.transpose).
FUNCTIONS |= {f"compat.v1.{name}": FUNCTIONS[name] for name in ("squeeze", "transpose")}
# Arguments that change nothing computed: the op's name.
IGNORED = frozenset({"name"})


def arguments_of(config: Config, inputs: list[Any]) -> dict[str, Any]:
    """A TFOp's arguments with its inputs in place of the placeholders, defaults filled."""
    function = FUNCTIONS[config["function"]]
    return {**function.defaults, **resolve(dict(config[ARGUMENTS]), inputs)}


def tf_op(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The function on NumPy arrays."""
    return np.asarray(FUNCTIONS[config["function"]].compute(NUMPY, arguments_of(config,
                                                                                list(inputs))))


def export_tf_op(target: str) -> Any:
    """A Keras 3 layer computing one table function with keras.ops (imported on demand)."""
    import keras

    ops = Ops(keras.ops, keras.activations.get)

    class TFOp(keras.layers.Layer):  # type: ignore[misc]
        """One TensorFlow function of the table, on the call's tensors (always a list)."""

        def __init__(self, function: str, arguments: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.function, self.arguments = function, arguments

        def call(self, inputs: Any) -> Any:
            config = {"function": self.function, ARGUMENTS: self.arguments}
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            return FUNCTIONS[self.function].compute(ops, arguments_of(config, tensors))

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "function": self.function,
                    ARGUMENTS: self.arguments}

    return TFOp


SPECS = (LayerSpec("TFOp", reference=tf_op, export=export_tf_op),)
