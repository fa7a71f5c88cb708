"""A preprocessing layer's state as arrays: shared by its NumPy reference and export form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.spec import Array, Config, Weights

# Keras's backend.epsilon(): the floor of a Normalization's standard deviation.
EPSILON = 1e-7


def config_array(value: Any) -> np.ndarray:
    """A config value that is a number, a list, or Keras 3's serialised NumPy array."""
    if isinstance(value, Mapping) and value.get("class_name") == "__numpy__":
        value = value["config"]["value"]
    return np.asarray(value, dtype=np.float64)


def kept_axes(config: Config, rank: int) -> list[int]:
    """The axes a Normalization keeps statistics for, as positive indices, in order."""
    axis = config.get("axis", -1)
    axes = () if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    return sorted(int(a) % rank for a in axes)


def normalization_stats(config: Config, weights: Weights, rank: int) -> tuple[Array, Array]:
    """(mean, standard deviation) broadcastable to a rank-`rank` input.

    Keras aligns them right to left onto the kept axes and floors the deviation at its
    epsilon.
    """
    if config.get("mean") is not None:
        mean, variance = config_array(config["mean"]), config_array(config["variance"])
    elif len(weights) >= 2:
        mean, variance = np.asarray(weights[0], np.float64), np.asarray(weights[1], np.float64)
    else:
        raise UnsupportedByReference("Normalization without its mean and variance")
    keep = kept_axes(config, rank)
    shape = [1] * rank
    for back in range(1, mean.ndim + 1):
        shape[keep[-back]] = mean.shape[-back]
    return (mean.reshape(shape), np.maximum(np.sqrt(variance.reshape(shape)), EPSILON))
