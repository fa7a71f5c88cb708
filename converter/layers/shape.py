"""Layers that move values without arithmetic.

Flatten, reshape, permute, repeat, and padding, cropping and upsampling of the length axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Shape, Weights
from converter.layers.traits import known, pair
from converter.layers.windows import channels_last


def flatten(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """(batch, ...) -> (batch, -1); channels_first flattens in channels-last order first."""
    x = inputs[0]
    if config.get("data_format") == "channels_first" and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return x.reshape(x.shape[0], -1)


def reshape(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Reshape each example to `target_shape`."""
    return inputs[0].reshape(inputs[0].shape[0], *[int(d) for d in config["target_shape"]])


def permute(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Permute the non-batch axes (1-based `dims`)."""
    return np.transpose(inputs[0], (0, *[int(d) for d in config["dims"]]))


def repeat_vector(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """(batch, d) -> (batch, n, d)."""
    return np.repeat(inputs[0][:, None, :], int(config["n"]), axis=1)


@channels_last
def zero_padding(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Pad steps with zeros: an int pads both sides, a pair pads (left, right)."""
    left, right = pair(config.get("padding", 1))
    return np.pad(inputs[0], ((0, 0), (left, right), (0, 0)))


def crop_sides(config: Config) -> tuple[int, int]:
    """A Cropping1D's (left, right): an int crops both sides alike."""
    return pair(config.get("cropping", (1, 1)))


def cropping(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Drop steps from both ends."""
    left, right = crop_sides(config)
    x = inputs[0]
    return x[:, left: x.shape[1] - right]


def upsampling(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Repeat every step `size` times."""
    return np.repeat(inputs[0], int(config.get("size", 2)), axis=1)


def export_flatten(target: str) -> Any:
    """Flatten to (-1, n) when every non-batch axis is static (no SHAPE of the batch)."""
    import keras

    class Flatten(keras.layers.Flatten):  # type: ignore[misc]
        def call(self, inputs: Any) -> Any:
            rest = inputs.shape[1:]
            if self.data_format == "channels_first" or any(d is None for d in rest):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, math.prod(rest)))

    return Flatten


def export_reshape(target: str) -> Any:
    """Reshape to (-1, *target) when the target has no unknown axis."""
    import keras

    class Reshape(keras.layers.Reshape):  # type: ignore[misc]
        def call(self, inputs: Any) -> Any:
            if any(d is None or d == -1 for d in self.target_shape):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, *self.target_shape))

    return Reshape


def export_upsampling(target: str) -> Any:
    """UpSampling1D as a broadcast and a reshape to (-1, steps * size, channels).

    Keras repeats along the length with the input's run-time shape (SHAPE, STRIDED_SLICE,
    TILE in TFLite; Shape, Gather, Tile in ONNX) even where every size is known; at a static
    length the only unknown is the batch, which the reshape's -1 takes.
    """
    import keras

    class UpSampling1D(keras.layers.UpSampling1D):  # type: ignore[misc]
        def call(self, inputs: Any) -> Any:
            steps, channels = inputs.shape[1], inputs.shape[2]
            if steps is None or channels is None:
                return super().call(inputs)
            spread = keras.ops.concatenate([keras.ops.expand_dims(inputs, 2)] * self.size, 2)
            return keras.ops.reshape(spread, (-1, steps * self.size, channels))

    return UpSampling1D


def reshaped_length(config: Config, steps: int | None) -> int | None:
    """A Reshape's first target axis, when static."""
    target = list(config.get("target_shape") or ())
    first = target[0] if target else None
    return int(first) if isinstance(first, int) and first > 0 else None


def flattened(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """Every non-batch axis as one, when all are known."""
    source = inputs[0] if inputs else None
    if source is None or any(d is None for d in source):
        return None
    return (math.prod(d for d in source if d is not None),)


def reshaped(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """The target shape, its -1 resolved from the input's size."""
    target = [int(d) for d in config.get("target_shape") or ()]
    size = flattened(config, inputs)
    if -1 not in target:  # a size the input does not have: no shape (Keras would refuse)
        return None if size is not None and size[0] != math.prod(target) else tuple(target)
    known_part = math.prod(d for d in target if d != -1)
    if size is None or size[0] is None or known_part == 0:
        return None
    return tuple(size[0] // known_part if d == -1 else d for d in target)


def permuted(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """The input's axes in `dims` order (1-based, batch excluded)."""
    source = inputs[0] if inputs else None
    dims = [int(d) for d in config.get("dims") or ()]
    if source is None or sorted(dims) != list(range(1, len(source) + 1)):
        return None
    return tuple(source[d - 1] for d in dims)


def repeated(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """N copies of the input vector."""
    source = inputs[0] if inputs else None
    return None if source is None else (int(config["n"]), *source)


def kept(name: str, *keys: str, **renames: str) -> dict[str, Keras1Rule]:
    """A Keras 1 rule for a class of the same name that keeps `keys`."""
    return {name: Keras1Rule(name, renames, frozenset(keys))}


SPECS = (
    LayerSpec("Flatten", reference=flatten, export=export_flatten, keras1=kept("Flatten"),
              shape=flattened),
    LayerSpec("Reshape", reference=reshape, export=export_reshape,
              keras1=kept("Reshape", "target_shape"), length=reshaped_length, shape=reshaped),
    LayerSpec("Permute", reference=permute, keras1=kept("Permute", "dims"), shape=permuted),
    LayerSpec("RepeatVector", reference=repeat_vector, keras1=kept("RepeatVector", "n"),
              length=lambda config, n: int(config["n"]), shape=repeated),
    LayerSpec("ZeroPadding1D", reference=zero_padding, keras1=kept("ZeroPadding1D", "padding"),
              length=known(lambda config, n: n + sum(pair(config.get("padding", 1))))),
    LayerSpec("Cropping1D", reference=cropping, keras1=kept("Cropping1D", "cropping"),
              length=known(lambda config, n: n - sum(crop_sides(config))),
              reach=lambda config: (sum(crop_sides(config)), 1)),
    LayerSpec("UpSampling1D", reference=upsampling, export=export_upsampling,
              keras1=kept("UpSampling1D", length="size"),
              length=known(lambda config, n: n * int(config.get("size", 2)))),
)
