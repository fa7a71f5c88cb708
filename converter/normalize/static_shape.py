"""`--static-shape`: the graph's inputs with a fixed batch and fixed sequence lengths.

Some delegates (LiteRT's GPU accelerator, NNAPI, CoreML) take only static tensors, and a
static length lets TFLite fold what a dynamic one computes at run time. The artifacts then
accept exactly that shape; the parity inputs follow it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from converter.artifacts import ModelGraph
from converter.errors import UsageError
from converter.graph.passes import GraphResult, PassResult


@dataclass(frozen=True)
class StaticShape:
    """The pass object `--static-shape` adds: inputs fixed to `batch` and `length`."""

    batch: int
    length: int | None
    name: str = "static_shape"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """The graph with every input's batch and dynamic axes fixed, and what changed."""
        inputs = {r.layer for r in graph.inputs}
        layers, changes = [], []
        for layer in graph.layers:
            if layer.name not in inputs:
                layers.append(layer)
                continue
            shape = list(layer.config["batch_shape"])
            if any(d is None for d in shape[1:]) and self.length is None:
                raise UsageError(
                    f"input {layer.name} has a dynamic length {shape}; --static-shape needs "
                    "--static-length N (the length the artifacts will accept)")
            fixed = [self.batch, *(self.length if d is None else d for d in shape[1:])]
            if fixed != shape:
                changes.append(f"{layer.name}: {shape} -> {fixed}")
            layers.append(replace(layer, config={**layer.config, "batch_shape": fixed}))
        fixed_graph = replace(graph, layers=tuple(layers), fixed_batch=self.batch)
        return PassResult(fixed_graph, bool(changes) or graph.fixed_batch != self.batch,
                          tuple(changes))
