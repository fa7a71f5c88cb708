"""Static shapes through a graph, from each layer's catalogue entry.

Every tensor's shape without the batch axis, where the inputs' declared shapes and the
layers' shape arithmetic (`LayerSpec.shape`, or its `length` map with the other axes kept)
determine it; None where they do not (a dynamic length, a class nothing is known about).
"""

from __future__ import annotations

from collections.abc import Sequence

from converter.artifacts import ModelGraph, TensorRef
from converter.layers import spec_of
from converter.layers.spec import Config, LayerSpec, Shape
from converter.layers.traits import same_length


def static_shapes(graph: ModelGraph) -> dict[TensorRef, Shape | None]:
    """The static shape (batch axis excluded) of every tensor the graph computes."""
    shapes: dict[TensorRef, Shape | None] = {}
    for ref in graph.inputs:
        batch_shape = graph.layer(ref.layer).config.get("batch_shape") or ()
        shapes[ref] = tuple(None if d is None else int(d) for d in batch_shape[1:]) \
            if batch_shape else None
    for layer, index in graph.call_order()[0]:
        inputs = [shapes.get(r) for r in layer.calls[index].inputs]
        shapes[TensorRef(layer.name, index, 0)] = shape_of(spec_of(layer.class_name),
                                                           layer.config, inputs)
    return shapes


def shape_of(spec: LayerSpec, config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """A layer's output shape: its own map, else its length map with the channels kept."""
    if spec.shape is not None:
        return spec.shape(config, inputs)
    source = inputs[0] if inputs else None
    if source is None or spec.length is None:
        return None
    if spec.length is same_length:  # acts on each position: the shape is the input's
        return source
    if len(source) != 2 or config.get("data_format") == "channels_first":
        return None
    return (spec.length(config, source[0]), source[1])


def sequence_length(shapes: dict[TensorRef, Shape | None], ref: TensorRef) -> int | None:
    """The static length of a (length, channels) sequence tensor, else None."""
    shape = shapes.get(ref)
    return shape[0] if shape is not None and len(shape) == 2 else None
