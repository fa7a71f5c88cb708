"""Layers that are the identity at inference leave the graph.

Given: layers whose catalogue entry is the identity at inference (`identity_at_inference`:
Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization, Identity), each call consuming one tensor.
Result: the layers removed and every consumer (and model output) reading the tensor the
removed call read, so exporters emit no no-op and op counts reflect real work.
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import LayerCall, ModelGraph, TensorRef
from converter.graph.passes import GraphResult, PassResult
from converter.layers import spec_of


class RemoveInferenceIdentity:
    """See the module docstring."""

    name = "remove_inference_identity"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Drop identity layers and rewire their consumers."""
        bypass: dict[TensorRef, TensorRef] = {}
        for layer in graph.layers:
            if spec_of(layer.class_name).identity_at_inference:
                for index, call in enumerate(layer.calls):
                    bypass[TensorRef(layer.name, index, 0)] = call.inputs[0]
        if not bypass:
            return PassResult(graph, False)

        def resolve(ref: TensorRef) -> TensorRef:
            while ref in bypass:
                ref = bypass[ref]
            return ref

        removed = sorted({ref.layer for ref in bypass})
        layers = tuple(
            replace(
                layer,
                calls=tuple(
                    LayerCall(tuple(resolve(r) for r in c.inputs), c.list_input, c.kwargs)
                    for c in layer.calls
                ),
            )
            for layer in graph.layers
            if layer.name not in removed
        )
        graph = replace(graph, layers=layers, outputs=tuple(resolve(r) for r in graph.outputs))
        return PassResult(graph, True, tuple(f"{name}: removed" for name in removed))


PASS = RemoveInferenceIdentity()
