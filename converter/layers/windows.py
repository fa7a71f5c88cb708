"""Window arithmetic over the length axis, shared by convolutions and pooling.

TensorFlow's padding rules: "same" puts the extra element on the right; "causal" pads
(k - 1) * dilation on the left. Reference arrays are (batch, steps, channels); a
`channels_first` layer is transposed in and out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.spec import Array, Config, Inputs, LengthMap, Shape, ShapeMap, Weights
from converter.layers.traits import known, size_of


def channels_last(impl: Callable[[Config, Weights, Inputs], Array]) -> Callable[
        [Config, Weights, Inputs], Array]:
    """Run a channels_last implementation on a channels_first layer by transposing."""

    def wrapped(config: Config, weights: Weights, inputs: Inputs) -> Array:
        if config.get("data_format") != "channels_first":
            return impl(config, weights, inputs)
        moved = [np.swapaxes(x, 1, 2) if x.ndim == 3 else x for x in inputs]
        out = impl(config, weights, moved)
        return np.swapaxes(out, 1, 2) if out.ndim == 3 else out

    wrapped.__doc__ = impl.__doc__
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


def output_steps(length: int, window: int, stride: int, dilation: int) -> int:
    """Steps a window of this reach takes over an already padded input of `length`."""
    span = (window - 1) * dilation + 1
    steps = (length - span) // stride + 1
    if steps <= 0:
        raise UnsupportedByReference(f"input of {length} steps is shorter than the window {span}")
    return steps


def windows(x: Array, window: int, stride: int, dilation: int) -> Array:
    """Strided view (batch, out_steps, window, channels) of an already padded input."""
    steps = output_steps(x.shape[1], window, stride, dilation)
    index = np.arange(steps)[:, None] * stride + np.arange(window)[None, :] * dilation
    return x[:, index, :]


def taps(x: Array, window: int, stride: int, dilation: int) -> list[Array]:
    """Per window position, the (batch, out_steps, channels) view of the input it reads.

    Views, not copies: a conv summed over them reads the input once per tap instead of
    gathering (batch, steps, window, channels) patches (SpliceAI's NumPy reference: 16 s a
    case, 11 of them copying patches).
    """
    steps = output_steps(x.shape[1], window, stride, dilation)
    return [x[:, tap * dilation: tap * dilation + (steps - 1) * stride + 1: stride, :]
            for tap in range(window)]


def window_of(config: Config, pooling: bool) -> tuple[int, int, int]:
    """(window, dilation, stride) of a conv or pooling config.

    Pooling strides default to the pool size.
    """
    window = size_of(config.get("kernel_size", config.get("pool_size")), 2)
    stride = size_of(config.get("strides"), window if pooling else 1)
    return window, size_of(config.get("dilation_rate")), stride


def window_length(pooling: bool) -> LengthMap:
    """The length map of a conv (pooling=False) or pooling layer: -1 when too short."""

    def length(config: Config, steps: int) -> int:
        window, dilation, stride = window_of(config, pooling)
        span = (window - 1) * dilation + 1
        if config.get("padding", "valid") in ("same", "causal"):
            return -(-steps // stride)
        return (steps - span) // stride + 1 if steps >= span else -1

    return known(length)


def window_reach(pooling: bool) -> Callable[[Config], tuple[int, int]]:
    """(positions removed at most, stride) of a conv or pooling layer, conservatively.

    A "valid" window removes its span less one; strides multiply what the layers before
    remove. (A transposed conv is counted like a conv: it only lengthens parity inputs.)
    """

    def reach(config: Config) -> tuple[int, int]:
        size = config.get("kernel_size") or config.get("pool_size")
        if size is None:
            return 0, 1
        window = size_of(size)
        removed = 0
        if config.get("padding", "valid") == "valid":
            removed = (window - 1) * size_of(config.get("dilation_rate") or 1)
        strides = config.get("strides") or (window if pooling else 1)
        return removed, size_of(strides)

    return reach


def windowed_shape(length: LengthMap, channels: Callable[[Config, int | None], int | None]
                   ) -> ShapeMap:
    """The shape map of a channels_last conv or pooling: its length map, and its channels."""

    def shape(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
        source = inputs[0] if inputs else None
        if source is None or len(source) != 2 or config.get("data_format") == "channels_first":
            return None
        return (length(config, source[0]), channels(config, source[1]))

    return shape
