"""`--dynamic-length`: a model saved at one sequence length, exported for any length.

Many models declare the length they were trained on although every layer would take
another (convolutions, pooling, recurrent layers, global pooling, per-step Dense). With the
option each sequence input's steps axis is left dynamic, so the files take any length.

A model whose weights are tied to the declared length (a Flatten before a Dense, a Reshape
to a fixed target) cannot take another, and is refused naming the first layer that ties
it. That layer is found by arithmetic, not by class: the graph's static shapes are computed
at the declared length and at a longer one (by the product of the strides, so every window
still fits), and the first layer whose output cannot be computed at the longer length, or
whose weights are sized by a feature axis that moved with the length, is the one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import UsageError
from converter.graph.interface import total_stride
from converter.graph.passes import GraphResult, PassResult
from converter.graph.shapes import static_shapes
from converter.layers.spec import Shape
from converter.normalize.channels_last import boundary_permute


@dataclass(frozen=True)
class DynamicLength:
    """The pass object `--dynamic-length` adds: every sequence input's length left open."""

    name: str = "dynamic_length"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """The graph with its inputs' steps axes dynamic, and what changed."""
        axes = steps_axes(graph)
        if not axes:
            raise UsageError("--dynamic-length: the model has no sequence input (batch, steps, "
                             "channels) or token ids (batch, steps); convert without it")
        stride = total_stride(graph)
        tied = first_tied(graph, lengthened(graph, axes, lambda n: n + stride))
        if tied is not None:
            declared = {name: graph.layer(name).config["batch_shape"][axis]
                        for name, axis in axes.items()}
            raise UsageError(f"--dynamic-length: {tied} ties the model to its declared length "
                             f"{declared}; convert without --dynamic-length")
        changes = tuple(f"{name}: steps axis {axis} -> dynamic" for name, axis in axes.items()
                        if graph.layer(name).config["batch_shape"][axis] is not None)
        return PassResult(lengthened(graph, axes, lambda n: None), bool(changes), changes)


def steps_axes(graph: ModelGraph) -> dict[str, int]:
    """Input layer -> the axis of its batch_shape that holds the steps.

    (batch, steps, channels), or (batch, channels, steps) where the model reads it
    channels_first (a Permute to channels_last right after the input); (batch, steps)
    token ids that feed an Embedding.
    """
    axes = {}
    for ref in graph.inputs:
        shape = graph.layer(ref.layer).config.get("batch_shape") or ()
        readers = [graph.layer(name) for name in graph.consumers(ref.layer)]
        if len(shape) == 3:
            first = any(boundary_permute(r, "channels_last") for r in readers)
            axes[ref.layer] = 2 if first else 1
        elif len(shape) == 2 and any(r.class_name == "Embedding" for r in readers):
            axes[ref.layer] = 1
    return axes


def lengthened(graph: ModelGraph, axes: dict[str, int],
               length: Callable[[int], int | None]) -> ModelGraph:
    """The graph with each input's steps axis mapped by `length` (a static one kept open)."""
    layers = []
    for layer in graph.layers:
        if layer.name in axes:
            shape = list(layer.config["batch_shape"])
            axis = axes[layer.name]
            shape[axis] = None if shape[axis] is None else length(int(shape[axis]))
            layer = replace(layer, config={**layer.config, "batch_shape": shape})
        layers.append(layer)
    return replace(graph, layers=tuple(layers))


def first_tied(graph: ModelGraph, longer: ModelGraph) -> str | None:
    """The first layer, in call order, that cannot run at the longer graph's length, and why."""
    at_declared, at_longer = static_shapes(graph), static_shapes(longer)
    for layer, index in graph.call_order()[0]:
        output = TensorRef(layer.name, index, 0)
        named = f"layer {layer.name} ({layer.class_name})"
        if at_declared.get(output) is not None and at_longer.get(output) is None:
            return f"{named}, whose output shape fits no other length,"
        moving = [ref.layer for ref in layer.calls[index].inputs
                  if sized_by(layer, at_declared.get(ref), at_longer.get(ref))]
        if moving:
            return (f"{named}, whose weights fit one size of {moving[0]}'s output (a size that "
                    "follows the length),")
    return None


def sized_by(layer: Layer, declared: Shape | None, longer: Shape | None) -> bool:
    """Whether the layer's weights are sized by an input's feature axis that follows the length.

    That axis is the input's last; the weights are sized by it where one of their axes has
    its size at the declared length (a Dense kernel's rows; not an Embedding's vocabulary,
    which token ids index however many there are).
    """
    if not declared or not longer or declared[-1] is None:
        return False
    if len(declared) == len(longer) and declared[-1] == longer[-1]:
        return False
    return any(declared[-1] in weight.shape for weight in layer.weights)
