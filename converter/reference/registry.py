"""The NumPy reference's layer registry: class name -> implementation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from converter.errors import NotApplicable

# An implementation gets the layer config, its weights (float64) and its input arrays, and
# returns its output array.
Config = Mapping[str, Any]
Weights = Sequence[np.ndarray]
Inputs = list[np.ndarray]
Impl = Callable[[Config, Weights, Inputs], np.ndarray]
LAYERS: dict[str, Impl] = {}


class UnsupportedByReference(NotApplicable):
    """The graph uses something the NumPy reference does not implement."""


def register(*names: str) -> Callable[[Impl], Impl]:
    """Register an implementation under one or more class names; twice is a bug."""

    def add(impl: Impl) -> Impl:
        for name in names:
            if name in LAYERS:
                raise RuntimeError(f"reference layer {name} registered twice")
            LAYERS[name] = impl
        return impl

    return add


def implementation(class_name: str) -> Impl:
    """The registered implementation of a class, or UnsupportedByReference naming it."""
    if class_name not in LAYERS:
        raise UnsupportedByReference(f"no NumPy implementation of {class_name}")
    return LAYERS[class_name]


def axis_of(value: Any, rank: int) -> int:
    """A Keras axis (possibly a one-element list, possibly negative) as a positive index."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise UnsupportedByReference(f"multi-axis {value}")
        value = value[0]
    return int(value) % rank


def first(value: Any) -> int:
    """A 1-D size argument (int, or one-element list/tuple) as an int."""
    return int(value[0] if isinstance(value, (list, tuple)) else value)
