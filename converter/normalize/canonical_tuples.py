"""One canonical form for the size arguments of 1-D layers.

Given: a layer whose catalogue entry names 1-D size arguments (`sizes`: a conv's
kernel_size, strides and dilation_rate, a pooling's pool_size and strides) given as an int, a
one-element list or a tuple, as Keras 1-3 and hand-written JSON write them.
Result: each as a one-element tuple of int, e.g. `kernel_size=3` and `[3]` -> `(3,)`.
A None stride (pooling's "same as pool_size") stays None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer
from converter.errors import LoadError
from converter.graph.passes import ConfigPass
from converter.layers import spec_of


def canonical(value: Any, layer: str, key: str) -> tuple[int] | None:
    """The one-element tuple a 1-D size argument means, or None for None."""
    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != 1 or isinstance(items[0], bool) or not isinstance(items[0], int):
        raise LoadError(f"layer {layer}: {key}={value!r} is not one integer for a 1-D layer")
    return (int(items[0]),)


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Canonicalise the size arguments of one 1-D layer."""
    config = dict(layer.config)
    notes = []
    for key in spec_of(layer.class_name).sizes:
        if key not in config:
            continue
        value = canonical(config[key], layer.name, key)
        if value != config[key]:
            notes.append(f"{key} {config[key]!r} -> {value!r}")
            config[key] = value
    return config, notes


PASS = ConfigPass("canonical_tuples", rewrite)
