"""Keras 1/2 `hard_sigmoid` keeps its meaning in Keras 3.

Given: a graph from a Keras 1 or 2 source (`source_keras` "1" or "2") with `hard_sigmoid`
as an activation or recurrent activation (Keras 1 LSTM/GRU's default inner activation, and
Keras 2.0-2.2's default recurrent activation), wrappers' inner layers included.
Result: those activations named `keras2_hard_sigmoid`, which `build` and the NumPy
reference compute as Keras 1/2 did: clip(0.2 x + 0.5, 0, 1). Keras 3's own `hard_sigmoid`
is relu6(x + 3) / 6 (slope 1/6), so keeping the name would silently change the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from converter.artifacts import ModelGraph
from converter.normalize._infra import PassResult

LEGACY = "keras2_hard_sigmoid"
KEYS = ("activation", "recurrent_activation")


def renamed(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A config with each `hard_sigmoid` activation renamed, wrappers included."""
    out, notes = dict(config), []
    for key in KEYS:
        if out.get(key) == "hard_sigmoid":
            out[key] = LEGACY
            notes.append(f"{key} hard_sigmoid -> {LEGACY} (slope 0.2, as Keras 1/2 computed)")
    for key in ("layer", "backward_layer"):
        inner = out.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("config"), Mapping):
            inner_config, inner_notes = renamed(inner["config"])
            out[key] = {**inner, "config": inner_config}
            notes.extend(f"{key}: {note}" for note in inner_notes)
    return out, notes


class LegacyHardSigmoid:
    """The pass object: it depends on the graph's source version, so it sees the graph."""

    name = "legacy_hard_sigmoid"

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Rename hard_sigmoid activations of a Keras 1/2 graph."""
        if graph.source_keras not in ("1", "2"):
            return PassResult(graph, False)
        layers, changes = [], []
        for layer in graph.layers:
            config, notes = renamed(layer.config)
            layers.append(replace(layer, config=config) if notes else layer)
            changes.extend(f"{layer.name}: {note}" for note in notes)
        if not changes:
            return PassResult(graph, False)
        return PassResult(replace(graph, layers=tuple(layers)), True, tuple(changes))


PASS = LegacyHardSigmoid()
