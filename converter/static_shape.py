"""`--static-shape`: the graph's inputs with a fixed batch and fixed sequence lengths.

Some delegates (LiteRT's GPU accelerator, NNAPI, CoreML) take only static tensors, and a
static length lets TFLite fold what a dynamic one computes at run time. The artifacts then
accept exactly that shape; the parity inputs follow it.
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import ModelGraph, PassRecord
from converter.errors import UsageError


def with_static_shape(
    graph: ModelGraph, batch: int, length: int | None
) -> tuple[ModelGraph, PassRecord]:
    """The graph with every input's batch and dynamic axes fixed, and what changed."""
    inputs = {r.layer for r in graph.inputs}
    layers, changes = [], []
    for layer in graph.layers:
        if layer.name not in inputs:
            layers.append(layer)
            continue
        shape = list(layer.config["batch_shape"])
        if any(d is None for d in shape[1:]) and length is None:
            raise UsageError(
                f"input {layer.name} has a dynamic length {shape}; --static-shape needs "
                "--static-length N (the length the artifacts will accept)")
        fixed = [batch, *(length if d is None else d for d in shape[1:])]
        changes.append(f"{layer.name}: {shape} -> {fixed}")
        layers.append(replace(layer, config={**layer.config, "batch_shape": fixed}))
    record = PassRecord("static_shape", True, tuple(changes))
    return replace(graph, layers=tuple(layers), fixed_batch=batch), record
