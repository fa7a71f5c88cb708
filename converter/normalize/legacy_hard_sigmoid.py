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
from typing import Any

from converter.artifacts import Layer, ModelGraph
from converter.graph.passes import ConfigPass, rewrite_wrapped
from converter.layers.activation import LEGACY_HARD_SIGMOID as LEGACY

KEYS = ("activation", "recurrent_activation")


def renamed(class_name: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A config with each `hard_sigmoid` activation renamed, wrappers included."""
    out, notes = dict(config), []
    for key in KEYS:
        if out.get(key) == "hard_sigmoid":
            out[key] = LEGACY
            notes.append(f"{key} hard_sigmoid -> {LEGACY} (slope 0.2, as Keras 1/2 computed)")
    rewrite_wrapped(out, notes, renamed)
    return out, notes


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Rename one layer's hard_sigmoid activations."""
    config, notes = renamed(layer.class_name, layer.config)
    return (config, notes) if notes else None


def keras1_or_2(graph: ModelGraph) -> bool:
    """Whether the graph carries Keras 1/2 semantics."""
    return graph.source_keras in ("1", "2")


PASS = ConfigPass("legacy_hard_sigmoid", rewrite, keras1_or_2)
