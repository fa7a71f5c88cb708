"""TFLite-only pass, `--unroll-recurrent N` (default 0, off): short static loops unrolled.

Given: the graph a .tflite file is built from, with LSTM / GRU / SimpleRNN layers (in a
Bidirectional too) whose input has a static length of at most N steps (`graph.shapes`).
Result: those layers' configs (and a Bidirectional's inner ones) with `unroll=True`: the
same numbers, one copy of the cell per step instead of the export class's fused LSTM or
WHILE loop (`layers.recurrent_export`): XNNPACK runs an unrolled graph as one delegated
whole and a loop body op by op, at the cost of ops and export time growing with the length
(README "Recurrent layers"). N = 0 unrolls nothing.
ONNX files are built without this pass (one LSTM/GRU/RNN node).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from converter.artifacts import Layer, ModelGraph
from converter.graph.passes import GraphResult, PassResult
from converter.graph.shapes import sequence_length, static_shapes
from converter.layers import inner_layers, spec_of


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
    """The pass object (see the module docstring), for loops of at most `max_steps` steps."""

    name = "unroll_static_recurrent (TFLite only)"

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Unroll every recurrent layer whose input length is static and short enough."""
        shapes = static_shapes(graph)
        layers: list[Layer] = []
        changes: list[str] = []
        for layer in graph.layers:
            steps = sequence_length(shapes, layer.calls[0].inputs[0]) if layer.calls and (
                layer.calls[0].inputs) else None
            config = unrolled(layer.config, layer.class_name) if (
                steps is not None and 0 < steps <= self.max_steps) else None
            if config is None or config == dict(layer.config):
                layers.append(layer)
                continue
            layers.append(replace(layer, config=config))
            changes.append(f"{layer.name}: unroll=True over {steps} static steps "
                           f"(--unroll-recurrent {self.max_steps})")
        if not changes:
            return PassResult(graph, False)
        return PassResult(replace(graph, layers=tuple(layers)), True, tuple(changes))
