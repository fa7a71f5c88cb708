"""Run a ModelGraph's layers in dependency order on NumPy arrays.

Each layer's implementation is its catalogue entry's `reference` (`converter.layers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import UnsupportedByReference
from converter.layers import spec_of
from converter.layers.spec import Config, Impl, Inputs, Weights

Array = np.ndarray


def implementation(class_name: str) -> Impl:
    """The NumPy implementation of a class, or UnsupportedByReference naming it."""
    spec = spec_of(class_name)
    wrapper = spec.wrapper_reference
    if wrapper is not None:

        def wrapped(config: Config, weights: Weights, inputs: Inputs) -> Array:
            return wrapper(config, weights, inputs, implementation)

        return wrapped
    if spec.reference is None:
        raise UnsupportedByReference(f"no NumPy implementation of {class_name}")
    return spec.reference


def run_graph(graph: ModelGraph, feeds: Sequence[Array]) -> list[Array]:
    """Outputs of the graph on `feeds` (one array per model input, in graph order)."""
    tensors = all_tensors(graph, feeds)
    return [tensors[ref].astype(np.float32) for ref in graph.outputs]


def layer_outputs(graph: ModelGraph, feeds: Sequence[Array]) -> dict[str, Array]:
    """Every layer's first output (of its first call), by layer name: for localisation."""
    tensors = all_tensors(graph, feeds)
    return {ref.layer: value for ref, value in tensors.items()
            if ref.call_index == 0 and ref.tensor_index == 0}


def all_tensors(graph: ModelGraph, feeds: Sequence[Array]) -> dict[TensorRef, Array]:
    """Every tensor the graph computes on `feeds`, in float64."""
    tensors: dict[TensorRef, Array] = {
        ref: np.asarray(value, dtype=np.float64) if not np.issubdtype(
            np.asarray(value).dtype, np.integer) else np.asarray(value)
        for ref, value in zip(graph.inputs, feeds, strict=True)
    }
    order, stuck = graph.call_order()
    if stuck:
        raise UnsupportedByReference(f"layers {stuck} never get inputs")
    for layer, index in order:
        tensors[TensorRef(layer.name, index, 0)] = call(layer, index, tensors)
    return tensors


def call(layer: Layer, index: int, tensors: dict[TensorRef, Array]) -> Array:
    """One call of one layer, its failure naming the layer."""
    inputs = [tensors[r] for r in layer.calls[index].inputs]
    weights = [np.asarray(w, dtype=np.float64) for w in layer.weights]
    try:
        return implementation(layer.class_name)(layer.config, weights, inputs)
    except UnsupportedByReference as exc:
        raise UnsupportedByReference(
            f"layer {layer.name} ({layer.class_name}): {exc}") from exc
