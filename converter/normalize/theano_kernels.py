"""Theano-trained convolution kernels -> TensorFlow's cross-correlation convention.

Given: a graph whose `kernel_convention` is "convolution": its convolution kernels were
trained under Theano, which computes a true convolution (the kernel flipped along its
length), while TensorFlow, LiteRT and ONNX compute a cross-correlation.
Result: the kernel of every layer whose catalogue entry has a kernel along the length axis
(`length_kernel`: the 1-D convolutions, inside TimeDistributed too) reversed along that axis
and `kernel_convention` "cross-correlation", so each layer computes the same numbers it
computed under Theano. How the backend was decided is in the report's provenance.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from converter.artifacts import Layer, ModelGraph
from converter.graph.passes import GraphResult, PassResult
from converter.layers import inner_layers, spec_of


def flipped(layer: Layer) -> Layer | None:
    """The layer with its kernel reversed along the length axis, or None for no kernel."""
    classes = [layer.class_name] + [name for _, name, _ in inner_layers(layer.config)]
    if not any(spec_of(name).length_kernel for name in classes) or not layer.weights:
        return None
    kernel = np.ascontiguousarray(layer.weights[0][::-1])
    return replace(layer, weights=(kernel, *layer.weights[1:]))


class TheanoKernels:
    """The pass object (it changes a graph-level attribute, so it is not a LayerPass)."""

    name = "theano_kernels"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Flip every convolution kernel once."""
        if graph.kernel_convention != "convolution":
            return PassResult(graph, False)
        layers, changes = [], []
        for layer in graph.layers:
            new = flipped(layer)
            layers.append(new or layer)
            if new is not None:
                changes.append(f"{layer.name}: kernel reversed along its length (Theano -> "
                               "TensorFlow convention)")
        graph = replace(graph, layers=tuple(layers), kernel_convention="cross-correlation")
        return PassResult(graph, True, tuple(changes) or ("no convolution kernels to flip",))


PASS = TheanoKernels()
