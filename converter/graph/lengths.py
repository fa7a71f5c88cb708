"""Static sequence lengths through a graph, from each layer's catalogue `length` map.

Axis 1 of every tensor, where the inputs' declared shapes and the layers' length arithmetic
determine it; None where they do not (a dynamic length, or a layer whose output length
nothing says).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from converter.artifacts import ModelGraph, TensorRef
from converter.layers import spec_of


def sequence_lengths(graph: ModelGraph) -> dict[TensorRef, int | None]:
    """Axis-1 size of every tensor the graph computes, None where it is not static."""
    lengths: dict[TensorRef, int | None] = {}
    for ref in graph.inputs:
        shape: Sequence[Any] = graph.layer(ref.layer).config.get("batch_shape") or ()
        lengths[ref] = int(shape[1]) if len(shape) >= 2 and shape[1] is not None else None
    for layer, index in graph.call_order()[0]:
        refs = layer.calls[index].inputs
        spec = spec_of(layer.class_name)
        steps = lengths.get(refs[0]) if refs else None
        lengths[TensorRef(layer.name, index, 0)] = (
            spec.length(layer.config, steps) if spec.length is not None else None)
    return lengths
