"""Activations: the functions by their Keras names, and the activation layers.

The functions serve every layer with an `activation` key. `keras2_hard_sigmoid` is Keras
1/2's hard sigmoid, clip(0.2 x + 0.5, 0, 1); the `legacy_hard_sigmoid` pass gives that name
to a Keras 1/2 model's `hard_sigmoid`, since Keras 3's has slope 1/6.
"""

from __future__ import annotations

from collections.abc import Callable
from math import erf, sqrt
from typing import Any

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import always, axis_of, over_channels, same_length

LEGACY_HARD_SIGMOID = "keras2_hard_sigmoid"


def softmax(x: Array, axis: int = -1) -> Array:
    """Numerically stable softmax."""
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=axis, keepdims=True))


def sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x)) without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def elu(x: Array, alpha: float = 1.0) -> Array:
    """Alpha * (exp(x) - 1) below zero."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def gelu(x: Array) -> Array:
    """The "gelu" activation by name: Keras 3 computes the exact erf form."""
    return np.asarray(0.5 * x * (1 + np.vectorize(erf, otypes=[np.float64])(x / sqrt(2))))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "softmax": softmax,
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": elu,
    "selu": lambda x: SELU_SCALE * elu(x, SELU_ALPHA),
    "exponential": np.exp,
    "swish": lambda x: x * sigmoid(x),
    "silu": lambda x: x * sigmoid(x),
    "gelu": gelu,
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    # Keras 3: relu6(x + 3) / 6; Keras 1/2 (renamed by the legacy_hard_sigmoid pass): 0.2 x + 0.5.
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    LEGACY_HARD_SIGMOID: lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
}


def activation(name: object) -> Callable[[Array], Array]:
    """The function of an activation config value (None means linear)."""
    if name is None:
        return ACTIVATIONS["linear"]
    if isinstance(name, dict):
        name = name.get("config", {}).get("name", name.get("class_name"))
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise UnsupportedByReference(f"activation {name!r}")
    return ACTIVATIONS[name]


def keras2_hard_sigmoid(x: Any) -> Any:
    """Keras 1/2's hard sigmoid for built Keras 3 models (converter's own activation)."""
    import keras

    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


# Activation functions only converter defines, by the name configs carry.
KERAS_FUNCTIONS: dict[str, Callable[[Any], Any]] = {LEGACY_HARD_SIGMOID: keras2_hard_sigmoid}


def activation_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The named activation."""
    return activation(config.get("activation"))(inputs[0])


def relu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """max_value, negative_slope and threshold as Keras defines them."""
    x = inputs[0]
    threshold = float(config.get("threshold", 0.0))
    out = np.where(x >= threshold, x, float(config.get("negative_slope", 0.0)) * (x - threshold))
    if config.get("max_value") is not None:
        out = np.minimum(out, float(config["max_value"]))
    return out


def leaky_relu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """negative_slope (Keras 3) or alpha (Keras 2)."""
    slope = float(config.get("negative_slope", config.get("alpha", 0.3)))
    return np.where(inputs[0] > 0, inputs[0], slope * inputs[0])


def elu_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """ELU with its alpha."""
    return elu(inputs[0], float(config.get("alpha", 1.0)))


def prelu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Learned slope per (unshared) position."""
    return np.where(inputs[0] > 0, inputs[0], weights[0] * inputs[0])


def softmax_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Softmax over `axis`."""
    return softmax(inputs[0], axis_of(config.get("axis", -1), inputs[0].ndim))


def elementwise(name: str, reference: Any = None, **more: Any) -> LayerSpec:
    """An activation layer that acts on each element alone."""
    return LayerSpec(name, elementwise=True, positionwise=always, length=same_length,
                     reference=reference, **more)


SPECS = (
    elementwise("Activation", activation_layer,
                keras1={"Activation": Keras1Rule("Activation", keep=frozenset({"activation"}))}),
    elementwise("ReLU", relu),
    elementwise("LeakyReLU", leaky_relu,
                keras1={"LeakyReLU": Keras1Rule("LeakyReLU", {"alpha": "negative_slope"})}),
    elementwise("ELU", elu_layer, keras1={"ELU": Keras1Rule("ELU", keep=frozenset({"alpha"}))}),
    elementwise("ThresholdedReLU"),
    # A slope per position and channel: neither layout-free nor the same at every position.
    LayerSpec("PReLU", length=same_length, reference=prelu),
    LayerSpec("Softmax", axis_key="axis", positionwise=over_channels, length=same_length,
              reference=softmax_layer),
)
