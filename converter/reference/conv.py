"""1-D convolution, pooling, padding, cropping and upsampling, with TensorFlow's padding rules.

Arrays are (batch, steps, channels); a `channels_first` layer is transposed in and out.
"same" padding puts the extra element on the right, as TensorFlow does; "causal" pads
(k - 1) * dilation on the left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from converter.reference.activations import activation
from converter.reference.registry import (
    Config,
    Inputs,
    UnsupportedByReference,
    Weights,
    first,
    register,
)

Array = np.ndarray


def channels_last(impl: Callable[..., Array]) -> Callable[..., Array]:
    """Run a channels_last implementation on a channels_first layer by transposing."""

    def wrapped(config: Config, weights: Weights, inputs: Inputs) -> Array:
        if config.get("data_format") != "channels_first":
            return impl(config, weights, inputs)
        moved = [np.swapaxes(x, 1, 2) if x.ndim == 3 else x for x in inputs]
        out = impl(config, weights, moved)
        return np.swapaxes(out, 1, 2) if out.ndim == 3 else out

    return wrapped


def pad_amounts(length: int, window: int, stride: int, mode: str) -> tuple[int, int]:
    """(left, right) padding of one axis for valid / same / causal."""
    if mode == "valid":
        return 0, 0
    if mode == "causal":
        return window - 1, 0
    if mode == "same":
        out = -(-length // stride)
        total = max((out - 1) * stride + window - length, 0)
        return total // 2, total - total // 2
    raise UnsupportedByReference(f"padding {mode!r}")


def windows(x: Array, window: int, stride: int, dilation: int) -> Array:
    """Strided view (batch, out_steps, window, channels) of an already padded input."""
    span = (window - 1) * dilation + 1
    steps = (x.shape[1] - span) // stride + 1
    if steps <= 0:
        raise UnsupportedByReference(
            f"input of {x.shape[1]} steps is shorter than the window {span}")
    index = np.arange(steps)[:, None] * stride + np.arange(window)[None, :] * dilation
    return x[:, index, :]


def convolve(x: Array, kernel: Array, config: Mapping[str, Any], groups: int = 1) -> Array:
    """Cross-correlation of (batch, steps, in) with a (k, in / groups, out) kernel."""
    k, stride, dilation = kernel.shape[0], first(config.get("strides", 1)), first(
        config.get("dilation_rate", 1))
    left, right = pad_amounts(x.shape[1], (k - 1) * dilation + 1, stride,
                              str(config.get("padding", "valid")))
    x = np.pad(x, ((0, 0), (left, right), (0, 0)))
    patches = windows(x, k, stride, dilation)  # (b, t, k, in)
    if groups == 1:
        return np.einsum("btki,kio->bto", patches, kernel, optimize=True)
    b, t = patches.shape[:2]
    per_in, per_out = kernel.shape[1], kernel.shape[2] // groups
    grouped = patches.reshape(b, t, k, groups, per_in)
    kernels = kernel.reshape(k, per_in, groups, per_out)
    return np.einsum("btkgi,kigo->btgo", grouped, kernels, optimize=True).reshape(b, t, -1)


def finish(out: Array, weights: Sequence[Array], config: Mapping[str, Any], bias_at: int) -> Array:
    """Add the bias (when used) and apply the activation."""
    if config.get("use_bias", True) and len(weights) > bias_at:
        out = out + weights[bias_at]
    return activation(config.get("activation"))(out)


@register("Conv1D")
@channels_last
def conv1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras Conv1D."""
    return finish(convolve(inputs[0], weights[0], config, int(config.get("groups", 1))),
                  weights, config, 1)


@register("SeparableConv1D")
@channels_last
def separable1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Depthwise (k, in, multiplier) then pointwise (1, in * multiplier, out)."""
    depthwise, pointwise = weights[0], weights[1]
    k, channels, multiplier = depthwise.shape
    expanded = depthwise.reshape(k, 1, channels * multiplier)
    middle = convolve(inputs[0], expanded, config, groups=channels)
    return finish(np.einsum("bti,io->bto", middle, pointwise[0]), weights, config, 2)


@register("DepthwiseConv1D")
@channels_last
def depthwise1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Depthwise kernel (k, in, multiplier)."""
    k, channels, multiplier = weights[0].shape
    out = convolve(inputs[0], weights[0].reshape(k, 1, channels * multiplier), config, channels)
    return finish(out, weights, config, 1)


@register("Conv1DTranspose")
@channels_last
def conv1d_transpose(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Transposed convolution: scatter each input step through the (k, out, in) kernel."""
    x, kernel = inputs[0], weights[0]
    k, stride, dilation = kernel.shape[0], first(config.get("strides", 1)), first(
        config.get("dilation_rate", 1))
    span = (k - 1) * dilation + 1
    # A kernel shorter than the stride leaves zeros up to steps * stride (Keras's length).
    full = max((x.shape[1] - 1) * stride + span, x.shape[1] * stride)
    out = np.zeros((x.shape[0], full, kernel.shape[1]))
    for tap in range(k):
        contribution = np.einsum("bti,oi->bto", x, kernel[tap])
        start = tap * dilation
        out[:, start: start + (x.shape[1] - 1) * stride + 1: stride] += contribution
    if config.get("padding", "valid") == "same":
        length = x.shape[1] * stride
        total = full - length
        out = out[:, total // 2: total // 2 + length]
    elif config.get("padding", "valid") != "valid":
        raise UnsupportedByReference(f"Conv1DTranspose padding {config.get('padding')!r}")
    return finish(out, weights, config, 1)


def pool(x: Array, config: Mapping[str, Any], reduce: str) -> Array:
    """Max or average pooling over steps; "same" average counts only real elements."""
    size = first(config.get("pool_size", 2))
    strides = config.get("strides")
    stride = size if strides is None else first(strides)
    left, right = pad_amounts(x.shape[1], size, stride, str(config.get("padding", "valid")))
    fill = -np.inf if reduce == "max" else 0.0
    padded = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=fill)
    patches = windows(padded, size, stride, 1)
    if reduce == "max":
        return patches.max(axis=2)
    ones = np.pad(np.ones((1, x.shape[1], 1)), ((0, 0), (left, right), (0, 0)))
    return patches.sum(axis=2) / windows(ones, size, stride, 1).sum(axis=2)


@register("MaxPooling1D", "MaxPool1D")
@channels_last
def max_pool(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras MaxPooling1D."""
    return pool(inputs[0], config, "max")


@register("AveragePooling1D", "AvgPool1D")
@channels_last
def average_pool(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras AveragePooling1D."""
    return pool(inputs[0], config, "mean")


def global_axis(config: Mapping[str, Any]) -> int:
    """The steps axis a global pooling reduces."""
    return 2 if config.get("data_format") == "channels_first" else 1


@register("GlobalMaxPooling1D", "GlobalMaxPool1D")
def global_max(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Maximum over steps."""
    return inputs[0].max(axis=global_axis(config), keepdims=bool(config.get("keepdims", False)))


@register("GlobalAveragePooling1D", "GlobalAvgPool1D")
def global_mean(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Mean over steps."""
    return inputs[0].mean(axis=global_axis(config), keepdims=bool(config.get("keepdims", False)))


@register("ZeroPadding1D")
@channels_last
def zero_padding(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Pad steps with zeros: an int pads both sides, a pair pads (left, right)."""
    padding = config.get("padding", 1)
    left, right = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return np.pad(inputs[0], ((0, 0), (int(left), int(right)), (0, 0)))


def crop_sides(config: Mapping[str, Any]) -> tuple[int, int]:
    """A Cropping1D's (left, right): an int crops both sides alike."""
    crop = config.get("cropping", (1, 1))
    left, right = (crop, crop) if isinstance(crop, int) else tuple(crop)
    return int(left), int(right)


@register("Cropping1D")
def cropping(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Drop steps from both ends."""
    left, right = crop_sides(config)
    x = inputs[0]
    return x[:, left: x.shape[1] - right]


@register("UpSampling1D")
def upsampling(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Repeat every step `size` times."""
    return np.repeat(inputs[0], int(config.get("size", 2)), axis=1)
