"""TFLite-only pass: recurrent layers over a static length are unrolled.

Given: the graph a .tflite file is built from, with LSTM / GRU / SimpleRNN layers (in a
Bidirectional too) whose input has a static length of at most MAX_UNROLL steps
(`graph.shapes`).
Result: those layers' configs (and a Bidirectional's inner ones) with `unroll=True`: the
same numbers, but Keras 3's loop form becomes TensorList ops that TFLite builtins cannot
express. Beyond MAX_UNROLL steps the graph grows too large, and a dynamic length runs the
export class's own while loop. ONNX files are built without this pass (one LSTM/GRU node).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from converter.artifacts import Layer, ModelGraph
from converter.graph.passes import GraphResult, PassResult
from converter.graph.shapes import sequence_length, static_shapes
from converter.layers import inner_layers, spec_of

# Longest sequence a recurrent layer is unrolled over: beyond it the graph grows too large.
MAX_UNROLL = 1024


def unrolled(config: Mapping[str, Any], class_name: str) -> dict[str, Any] | None:
    """The config with every recurrent part unrolled, or None when it has none."""
    if spec_of(class_name).recurrent:
        return {**config, "unroll": True}
    out = dict(config)
    for key, name, inner in inner_layers(config):
        if spec_of(name).recurrent:
            out[key] = {**config[key], "config": {**inner, "unroll": True}}
    return out if out != dict(config) else None


class UnrollStaticRecurrent:
    """The pass object (see the module docstring)."""

    name = "unroll_static_recurrent (TFLite only)"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Unroll every recurrent layer whose input length is static and short enough."""
        shapes = static_shapes(graph)
        layers: list[Layer] = []
        changes: list[str] = []
        for layer in graph.layers:
            steps = sequence_length(shapes, layer.calls[0].inputs[0]) if layer.calls and (
                layer.calls[0].inputs) else None
            config = unrolled(layer.config, layer.class_name) if (
                steps is not None and 0 < steps <= MAX_UNROLL) else None
            if config is None or config == dict(layer.config):
                layers.append(layer)
                continue
            layers.append(replace(layer, config=config))
            changes.append(f"{layer.name}: unroll=True over {steps} static steps (TFLite "
                           "builtins cannot express the loop form)")
        if not changes:
            return PassResult(graph, False)
        return PassResult(replace(graph, layers=tuple(layers)), True, tuple(changes))


PASS = UnrollStaticRecurrent()
