"""TimeDistributed around a layer that already maps each step alone -> that layer.

Given: TimeDistributed wrapping Dense, Activation, or another layer that acts only on the
last axis (Dense multiplies the last axis, whatever the rank).
Result: the wrapped layer itself, under the wrapper's name, with the same weights and calls.
Same numbers; but Keras 3's TimeDistributed traces one slice per time step (1,942 Slice/
Squeeze pairs in ONNX for FactorNet's 969 steps), while Dense on a 3-D tensor is one MatMul.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from converter.artifacts import Layer
from converter.normalize._infra import LayerPass

PER_STEP = ("Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout")


def rewrite(layer: Layer) -> tuple[Layer, list[str]] | None:
    """Unwrap one TimeDistributed whose inner layer is per-step already."""
    inner = layer.config.get("layer")
    if layer.class_name != "TimeDistributed" or not isinstance(inner, Mapping):
        return None
    class_name = str(inner.get("class_name"))
    if class_name not in PER_STEP:
        return None
    config = {**inner.get("config", {}), "name": layer.name}
    if class_name == "Softmax" and config.get("axis", -1) != -1:
        return None
    note = f"TimeDistributed({class_name}) -> {class_name} (acts on the last axis already)"
    return replace(layer, class_name=class_name, config=config), [note]


PASS = LayerPass("unwrap_time_distributed", rewrite)
