"""The input shape of a Sequential model saved without one (a deferred-build tf.keras model).

Channels come from the first weighted layer's kernel. A Flatten feeding a Dense fixes the
length: the Dense kernel has (steps at the Flatten x channels) rows, and the smallest input
length the layers before the Flatten map to those steps is the one the model was trained on
(each layer's length arithmetic is replayed forward). Without a Flatten the length stays
dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from converter.errors import LoadError
from converter.layers import spec_of

MAX_LENGTH = 10_000_000


def step_length(class_name: str, config: Mapping[str, Any], length: int | None) -> int | None:
    """The output length of one layer (its catalogue entry's `length`).

    None when the layer ends the length arithmetic.
    """
    spec = spec_of(class_name)
    return None if spec.length is None else spec.length(config, length)


def channels_in(entries: Sequence[Mapping[str, Any]], weights: Mapping[str, tuple[np.ndarray, ...]],
                name_of: Any) -> tuple[int, int]:
    """(index of the first weighted layer, its input channels)."""
    for index, entry in enumerate(entries):
        kernel = weights.get(name_of(entry), ())
        if kernel:
            shape = kernel[0].shape
            return index, int(shape[-2] if len(shape) >= 2 else shape[0])
    raise LoadError("the Sequential model declares no input shape and has no weights to infer "
                    "it from; build it with an Input and save it again")


def infer_input_shape(
    entries: Sequence[Mapping[str, Any]], weights: Mapping[str, tuple[np.ndarray, ...]],
    name_of: Any,
) -> tuple[list[int | None], str]:
    """(batch shape, how it was inferred) for a Sequential without a declared input shape."""
    first = entries[0]
    if first.get("class_name") == "Embedding":
        return [None, None], "Embedding first: integer tokens of dynamic length"
    _, channels = channels_in(entries, weights, name_of)
    if "Conv1D" not in str(first.get("class_name")) and first.get("class_name") == "Dense":
        return [None, channels], f"{channels} features from the first Dense kernel"
    flat = next((i for i, e in enumerate(entries) if e.get("class_name") == "Flatten"), None)
    dense = next((e for e in entries[(flat or 0) + 1:] if e.get("class_name") == "Dense"), None)
    if flat is None or dense is None or not weights.get(name_of(dense)):
        return [None, None, channels], f"{channels} channels from the first kernel; length dynamic"
    rows = int(weights[name_of(dense)][0].shape[0])
    last = next((weights[name_of(e)][0].shape[-1] for e in reversed(entries[:flat])
                 if "Conv1D" in str(e.get("class_name")) and weights.get(name_of(e))), channels)
    if rows % int(last):
        raise LoadError(f"cannot infer the input length: the Dense after Flatten has {rows} "
                        f"rows, not a multiple of {last} channels")
    target = rows // int(last)
    for length in range(1, MAX_LENGTH):
        out: int | None = length
        for entry in entries[:flat]:
            out = step_length(str(entry.get("class_name")), entry.get("config", {}), out)
            if out is None:
                raise LoadError(f"cannot infer the input length through layer "
                                f"{name_of(entry)} ({entry.get('class_name')}); build the model "
                                "with an Input and save it again")
        if out == target:
            return [None, length, channels], (
                f"{channels} channels from the first kernel; length {length} from the "
                f"{rows}-row Dense after Flatten")
        if out is not None and out > target:
            break
    raise LoadError(f"no input length gives {target} steps at the Flatten; build the model "
                    "with an Input and save it again")
