"""The small pieces catalogue entries are written with.

Trait predicates, length maps, readers of size arguments and Keras 1 value transforms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from converter.errors import LoadError, UnsupportedByReference
from converter.layers.spec import Config, LengthMap, Shape, ShapeMap


def always(config: Config) -> bool:
    """A trait that holds for every config."""
    return True


def same_length(config: Config, length: int | None) -> int | None:
    """The length map of a layer that keeps every position."""
    return length


def known(arithmetic: Callable[[Config, int], int]) -> LengthMap:
    """A length map from arithmetic on a known length (an unknown one stays unknown)."""

    def length(config: Config, steps: int | None) -> int | None:
        return None if steps is None else arithmetic(config, steps)

    length.__doc__ = arithmetic.__doc__
    return length


# Axes of a (batch, steps, channels) tensor that are its channels.
CHANNEL_AXES = (-1, 2, [-1], [2])


def over_channels(config: Config) -> bool:
    """Whether an axis-taking layer works over the channel axis of a sequence."""
    return config.get("axis", -1) in CHANNEL_AXES


def size_of(value: Any, default: int = 1) -> int:
    """A 1-D size argument (int, one-element list or tuple, None) as an int."""
    if value is None:
        return default
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def axis_of(value: Any, rank: int) -> int:
    """A Keras axis (possibly a one-element list, possibly negative) as a positive index."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise UnsupportedByReference(f"multi-axis {value}")
        value = value[0]
    return int(value) % rank


def pair(value: Any, default: int = 1) -> tuple[int, int]:
    """A (left, right) amount: an int means both sides alike (Cropping1D, ZeroPadding1D)."""
    value = default if value is None else value
    left, right = (value, value) if isinstance(value, int) else tuple(value)
    return int(left), int(right)


# Value transforms Keras 1 rules share.

def as_list(value: Any) -> Any:
    """An int size as the one-element list Keras 2+ writes."""
    return value if value is None or isinstance(value, list) else [value]


def border_mode(value: Any) -> str:
    """`border_mode` -> `padding`; Keras 1's "full" has no Keras 3 form."""
    if value not in ("valid", "same", "causal"):
        raise LoadError(f"{value!r} has no Keras 3 equivalent (valid, same)")
    return str(value)


def refuse_true(key: str) -> Callable[[Any], Any]:
    """A transform that accepts only a false value of `key`."""

    def check(value: Any) -> Any:
        if value:
            raise LoadError(f"{value!r} cannot be converted (only {key}=False can)")
        return value

    return check


def with_last(size: Callable[[Config, Shape], int | None]) -> ShapeMap:
    """A shape map that keeps every axis but the last, which `size` gives (Dense's units)."""

    def shape(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
        source = inputs[0] if inputs else None
        return None if source is None else (*source[:-1], size(config, source))

    return shape
