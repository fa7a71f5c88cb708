"""1-D convolutions: Conv1D, separable, depthwise and transposed.

Conv1D is also Keras 1's Convolution1D and AtrousConvolution1D.

Export forms, traced without run-time shape computations:
- a dilated or causal Conv1D is one Conv2D with its dilation (one CONV_2D / Conv), where the
  stock lowering goes through SPACE_TO_BATCH_ND with SHAPE/STRIDED_SLICE chains (about 20
  TFLite ops per layer at a dynamic length); for ONNX a dilated "same" conv pads explicitly,
  since tf2onnx would write auto_pad=SAME_UPPER, which onnxruntime refuses with dilations;
- a Conv1DTranspose at a static length is its polyphase conv (`polyphase`), with no output
  shape built from SHAPE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from converter.errors import LoadError, UnsupportedByReference
from converter.layers.activation import activation
from converter.layers.convolution_export import export_conv1d, export_conv1d_transpose
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import as_list, border_mode, known, size_of
from converter.layers.windows import (
    channels_last,
    pad_amounts,
    taps,
    window_length,
    window_reach,
    windowed_shape,
)

SIZES = ("kernel_size", "strides", "dilation_rate")
KERAS1_CONV = Keras1Rule(
    "Conv1D",
    {"nb_filter": "filters", "filter_length": "kernel_size", "border_mode": "padding",
     "subsample_length": "strides", "atrous_rate": "dilation_rate", "bias": "use_bias"},
    frozenset({"activation"}),
    {"kernel_size": as_list, "strides": as_list, "dilation_rate": as_list,
     "padding": border_mode},
)
SEPARABLE_UNUSED = ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint")


def convolve(x: Array, kernel: Array, config: Mapping[str, Any], groups: int = 1) -> Array:
    """Cross-correlation of (batch, steps, in) with a (k, in / groups, out) kernel."""
    k, stride, dilation = kernel.shape[0], size_of(config.get("strides", 1)), size_of(
        config.get("dilation_rate", 1))
    left, right = pad_amounts(x.shape[1], (k - 1) * dilation + 1, stride,
                              str(config.get("padding", "valid")))
    x = np.pad(x, ((0, 0), (left, right), (0, 0)))
    views = taps(x, k, stride, dilation)  # each (b, t, in)
    per_in, per_out = kernel.shape[1], kernel.shape[2] // groups
    out = np.zeros((*views[0].shape[:2], kernel.shape[2]), np.result_type(x, kernel))
    for view, weights in zip(views, kernel, strict=True):
        if per_in == 1 < groups:  # depthwise: products per channel, no sums to order
            batch, steps, _ = view.shape
            out += np.einsum("btg,go->btgo", view, weights.reshape(groups, per_out)).reshape(
                batch, steps, -1)
            continue
        for g in range(groups):
            out[..., g * per_out:(g + 1) * per_out] += (
                view[..., g * per_in:(g + 1) * per_in] @ weights[:, g * per_out:(g + 1) * per_out])
    return out


def finish(out: Array, weights: Sequence[Array], config: Mapping[str, Any], bias_at: int) -> Array:
    """Add the bias (when used) and apply the activation."""
    if config.get("use_bias", True) and len(weights) > bias_at:
        out = out + weights[bias_at]
    return activation(config.get("activation"))(out)


@channels_last
def conv1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras Conv1D."""
    return finish(convolve(inputs[0], weights[0], config, int(config.get("groups", 1))),
                  weights, config, 1)


@channels_last
def separable1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Depthwise (k, in, multiplier) then pointwise (1, in * multiplier, out)."""
    depthwise, pointwise = weights[0], weights[1]
    k, channels, multiplier = depthwise.shape
    expanded = depthwise.reshape(k, 1, channels * multiplier)
    middle = convolve(inputs[0], expanded, config, groups=channels)
    return finish(np.einsum("bti,io->bto", middle, pointwise[0]), weights, config, 2)


@channels_last
def depthwise1d(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Depthwise kernel (k, in, multiplier)."""
    k, channels, multiplier = weights[0].shape
    out = convolve(inputs[0], weights[0].reshape(k, 1, channels * multiplier), config, channels)
    return finish(out, weights, config, 1)


@channels_last
def conv1d_transpose(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Transposed convolution: scatter each input step through the (k, out, in) kernel."""
    x, kernel = inputs[0], weights[0]
    k, stride, dilation = kernel.shape[0], size_of(config.get("strides", 1)), size_of(
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


def transpose_length(config: Config, steps: int) -> int:
    """A transposed conv's output length: steps * stride, plus the overhang when "valid"."""
    kernel, stride = size_of(config.get("kernel_size")), size_of(config.get("strides"))
    span = (kernel - 1) * size_of(config.get("dilation_rate")) + 1
    extra = max(span - stride, 0) if config.get("padding", "valid") == "valid" else 0
    return steps * stride + extra


def keras1_kernel(config: Config, weights: Weights, names: Sequence[str],
                  owner: str) -> tuple[np.ndarray, ...]:
    """A Keras 1 Convolution1D kernel as `(k, in, out)`.

    Keras 1 stored it 4-D, `(k, 1, in, out)`, or in the older `(out, in, k, 1)` layout.
    """
    if not weights:
        return ()
    kernel, filters = weights[0], int(config["filters"])
    kernel_size = size_of(config["kernel_size"])
    if kernel.ndim == 3:
        return tuple(weights)
    if kernel.ndim != 4:
        raise LoadError(f"layer {owner}: a Convolution1D kernel of shape {kernel.shape}")
    if kernel.shape[:2] == (kernel_size, 1) and kernel.shape[3] == filters:
        return (kernel[:, 0, :, :], *weights[1:])
    if kernel.shape[0] == filters and kernel.shape[2:] == (kernel_size, 1):
        return (np.transpose(kernel, (2, 3, 1, 0))[:, 0, :, :], *weights[1:])
    raise LoadError(
        f"layer {owner}: kernel shape {kernel.shape} is neither Keras 1 layout "
        f"(k, 1, in, out) nor (out, in, k, 1) for {filters} filters of length {kernel_size}")


def separable_drift(config: dict[str, Any], owner: str) -> list[str]:
    """SeparableConv's inherited `kernel_*` / `groups` keys dropped.

    Keras 2 never used them: a separable conv has depthwise and pointwise kernels.
    """
    notes = []
    for key in SEPARABLE_UNUSED:
        if key in config:
            config.pop(key)
            notes.append(f"{key} dropped (unused by separable convolutions)")
    return notes


def ungrouped(kind: str) -> Callable[[dict[str, Any], str], list[str]]:
    """The Keras 2 drift of a conv that inherits `groups: 1` but is never grouped.

    tf.keras writes the key for transposed and depthwise convs; Keras 3 refuses it.
    """

    def drift(config: dict[str, Any], owner: str) -> list[str]:
        if "groups" not in config:
            return []
        if config.pop("groups") != 1:
            raise LoadError(f"layer {owner}: a grouped {kind} convolution has no Keras 3 form")
        return [f"groups=1 dropped ({kind} convolutions are never grouped)"]

    return drift


def differs_by_target(config: Config) -> bool:
    """Whether the export class differs by target for this conv's config.

    A causal conv pads in 4-D for TFLite, in 3-D for ONNX; a dilated "same" one pads
    explicitly for ONNX.
    """
    return config.get("padding") == "causal" or (
        config.get("padding") == "same" and max(config.get("dilation_rate") or (1,)) > 1)


def filters(config: Config, channels: int | None) -> int | None:
    """A conv's output channels: its filters."""
    return int(config["filters"]) if "filters" in config else None


def multiplied(config: Config, channels: int | None) -> int | None:
    """A depthwise conv's output channels: its input's times the depth multiplier."""
    return None if channels is None else channels * int(config.get("depth_multiplier", 1))


def convolution(name: str, reference: Any, **more: Any) -> LayerSpec:
    """A 1-D convolution's entry: a window over the length, a kernel along it."""
    length = more.pop("length", window_length(False))
    channels = more.pop("channels", filters)
    return LayerSpec(name, data_format="window", length_kernel=True, sizes=SIZES,
                     reach=window_reach(False), reference=reference, length=length,
                     shape=windowed_shape(length, channels), **more)


SPECS = (
    convolution("Conv1D", conv1d, keras1={"Convolution1D": KERAS1_CONV,
                                          "AtrousConvolution1D": KERAS1_CONV},
                keras1_weights=keras1_kernel, export=export_conv1d,
                export_differs=differs_by_target),
    convolution("SeparableConv1D", separable1d, keras2_drift=separable_drift),
    convolution("DepthwiseConv1D", depthwise1d, channels=multiplied,
                keras2_drift=ungrouped("depthwise")),
    convolution("Conv1DTranspose", conv1d_transpose, length=known(transpose_length),
                keras2_drift=ungrouped("transposed"), export=export_conv1d_transpose),
)
