"""The planted defects of `defects`, made on the graph: what the input search tries to expose.

The files' defects are planted in their own weights after conversion; before that, the
parity inputs are chosen on the NumPy reference of the graph, where the same four defects
(every kernel weight of a middle weighted layer x1.001, its largest output channel x1.01,
the last weighted layer's largest channel x1.01, the last non-zero bias dropped) show how
well a choice of inputs would expose a wrong file.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from converter.artifacts import Layer, ModelGraph
from converter.parity.defects import CHANNEL, SMALL


def weighted_layers(graph: ModelGraph) -> list[Layer]:
    """Layers with a kernel (rank 2 or more, output channels last), in call order."""
    order = dict.fromkeys(x.name for x, _ in graph.call_order()[0])
    return [graph.layer(name) for name in order
            if graph.layer(name).weights and graph.layer(name).weights[0].ndim >= 2]


def with_weights(graph: ModelGraph, layer: Layer, weights: tuple[np.ndarray, ...]) -> ModelGraph:
    """The graph with one layer's weights replaced."""
    return replace(graph, layers=tuple(replace(x, weights=weights) if x.name == layer.name
                                       else x for x in graph.layers))


def scaled(layer: Layer, factor: float, channel: int | None) -> tuple[np.ndarray, ...]:
    """A layer's weights with its kernel (or one output channel of it) scaled."""
    kernel = np.array(layer.weights[0], copy=True)
    if channel is None:
        kernel = kernel * factor
    else:
        kernel[..., channel] = kernel[..., channel] * factor
    return (kernel.astype(layer.weights[0].dtype), *layer.weights[1:])


def largest_channel(layer: Layer) -> int:
    """The output channel with the largest kernel weights."""
    kernel = np.asarray(layer.weights[0], np.float64)
    return int(np.argmax(np.sqrt((kernel.reshape(-1, kernel.shape[-1]) ** 2).sum(axis=0))))


def bias_index(layer: Layer) -> int | None:
    """Which of a layer's weights is a non-zero bias (one value per output channel)."""
    channels = layer.weights[0].shape[-1]
    return next((i for i, w in enumerate(layer.weights[1:], start=1)
                 if w.ndim == 1 and w.shape[0] in (channels,) and np.any(w != 0)), None)


def planted_graphs(graph: ModelGraph) -> list[ModelGraph]:
    """One copy of the graph per defect (see the module docstring)."""
    layers = weighted_layers(graph)
    if not layers:
        return []
    last, middle = layers[-1], layers[len(layers) // 2]
    found = [with_weights(graph, middle, scaled(middle, SMALL, None)),
             with_weights(graph, middle, scaled(middle, CHANNEL, largest_channel(middle))),
             with_weights(graph, last, scaled(last, CHANNEL, largest_channel(last)))]
    biased = [(x, i) for x in layers if (i := bias_index(x)) is not None]
    if biased:
        layer, index = biased[-1]
        weights = list(layer.weights)
        weights[index] = np.zeros_like(weights[index])
        found.append(with_weights(graph, layer, tuple(weights)))
    return found
