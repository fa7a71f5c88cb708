"""Activation functions by their Keras names, in float64."""

from __future__ import annotations

from collections.abc import Callable
from math import erf, sqrt

import numpy as np

from converter.reference.registry import UnsupportedByReference

Array = np.ndarray


def softmax(x: Array, axis: int = -1) -> Array:
    """Numerically stable softmax."""
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x)) without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def elu(x: Array, alpha: float = 1.0) -> Array:
    """Alpha * (exp(x) - 1) below zero."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def gelu(x: Array) -> Array:
    """The "gelu" activation by name: Keras 3 computes the exact erf form."""
    return 0.5 * x * (1 + np.vectorize(erf, otypes=[np.float64])(x / sqrt(2)))


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
    "keras2_hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
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
