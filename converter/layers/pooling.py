"""Pooling over the length axis: windowed max / average, and global max / average."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from converter.layers import windows as sliding
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Shape, Weights
from converter.layers.traits import as_list, border_mode, size_of

KERAS1_POOL = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
KERAS1_TRANSFORMS = {"pool_size": as_list, "strides": as_list, "padding": border_mode}


def pool(x: Array, config: Config, reduce: str) -> Array:
    """Max or average pooling over steps; "same" average counts only real elements."""
    size = size_of(config.get("pool_size", 2))
    strides = config.get("strides")
    stride = size if strides is None else size_of(strides)
    padding = str(config.get("padding", "valid"))
    left, right = sliding.pad_amounts(x.shape[1], size, stride, padding)
    fill = -np.inf if reduce == "max" else 0.0
    padded = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill)
    patches = sliding.windows(padded, size, stride, 1)
    if reduce == "max":
        return np.asarray(patches.max(axis=2))
    ones = np.pad(np.ones((1, x.shape[1], 1)), ((0, 0), (left, right), (0, 0)))
    return np.asarray(patches.sum(axis=2) / sliding.windows(ones, size, stride, 1).sum(axis=2))


@sliding.channels_last
def max_pool(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras MaxPooling1D."""
    return pool(inputs[0], config, "max")


@sliding.channels_last
def average_pool(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras AveragePooling1D."""
    return pool(inputs[0], config, "mean")


def global_axis(config: Config) -> int:
    """The steps axis a global pooling reduces."""
    return 2 if config.get("data_format") == "channels_first" else 1


def global_max(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Maximum over steps."""
    return np.asarray(inputs[0].max(axis=global_axis(config),
                                     keepdims=bool(config.get("keepdims", False))))


def global_mean(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Mean over steps."""
    return np.asarray(inputs[0].mean(axis=global_axis(config),
                                      keepdims=bool(config.get("keepdims", False))))


def global_shape(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """A global pooling's channels, with a length of 1 when it keeps the axis."""
    source = inputs[0] if inputs else None
    if source is None or len(source) != 2 or config.get("data_format") == "channels_first":
        return None
    return (1, source[1]) if config.get("keepdims") else (source[1],)


def windowed(name: str, alias: str, reference: Any) -> LayerSpec:
    """A pooling window over the length; strides default to the pool size."""
    length = sliding.window_length(True)
    return LayerSpec(name, (alias,), data_format="window", sizes=("strides", "pool_size"),
                     length=length, reach=sliding.window_reach(True), reference=reference,
                     shape=sliding.windowed_shape(length, lambda config, channels: channels),
                     keras1={name: Keras1Rule(name, KERAS1_POOL, transforms=KERAS1_TRANSFORMS)})


def global_pool(name: str, alias: str, reference: Any) -> LayerSpec:
    """A reduction over the whole length."""
    return LayerSpec(name, (alias,), data_format="global", reference=reference,
                     shape=global_shape,
                     keras1={name: Keras1Rule(name)})


SPECS = (
    windowed("MaxPooling1D", "MaxPool1D", max_pool),
    windowed("AveragePooling1D", "AvgPool1D", average_pool),
    global_pool("GlobalMaxPooling1D", "GlobalMaxPool1D", global_max),
    global_pool("GlobalAveragePooling1D", "GlobalAvgPool1D", global_mean),
)
