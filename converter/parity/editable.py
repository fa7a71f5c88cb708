"""An artifact opened for editing its weights.

The contract of the format adapters (`defects_tflite`, `defects_onnx`) that planted defects
are written through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Weighted:
    """One weighted layer of an artifact.

    Its name, the size of each output channel's weights, and whether it has a non-zero bias.
    """

    name: str
    channel_norms: np.ndarray
    has_bias: bool


class Editable(Protocol):
    """An artifact opened for editing (one per planted copy)."""

    def weighted(self) -> list[Weighted]:
        """Its weighted layers in execution order."""
        ...

    def scale(self, layer: int, factor: float, channel: int | None = None) -> None:
        """Scale a layer's weights (one output channel's, or all)."""
        ...

    def drop_bias(self, layer: int) -> None:
        """Zero a layer's bias."""
        ...

    def save(self, path: Path) -> None:
        """Write the edited artifact."""
        ...


def channel_slice(ndim: int, axis: int, channel: int | None) -> tuple[slice, ...]:
    """The index of one output channel along `axis` (every element when `channel` is None)."""
    index = [slice(None)] * ndim
    if channel is not None:
        index[axis] = slice(channel, channel + 1)
    return tuple(index)


class WeightFile:
    """What the format adapters share.

    Weighted layers as (name, weight, axis, bias) keys; each adapter reads and writes the
    arrays behind its keys.
    """

    layers: list[tuple[str, Any, int, Any]]

    def array(self, key: Any) -> np.ndarray:
        """A constant's values (a writable copy)."""
        raise NotImplementedError

    def write(self, key: Any, values: np.ndarray) -> None:
        """Replace a constant's values."""
        raise NotImplementedError

    def scale_values(self, layer: int, factor: float, channel: int | None) -> None:
        """Scale a layer's stored weights (integers rounded back to their type)."""
        _, weight, axis, _ = self.layers[layer]
        values = self.array(weight)
        index = channel_slice(values.ndim, axis, channel)
        scaled = values[index].astype(np.float64) * factor
        if np.issubdtype(values.dtype, np.integer):
            scaled = np.clip(np.rint(scaled), np.iinfo(values.dtype).min,
                             np.iinfo(values.dtype).max)
        values[index] = scaled.astype(values.dtype)
        self.write(weight, values)

    def drop_bias(self, layer: int) -> None:
        """Zero a layer's bias."""
        bias = self.layers[layer][3]
        if bias is not None:
            self.write(bias, np.zeros_like(self.array(bias)))
