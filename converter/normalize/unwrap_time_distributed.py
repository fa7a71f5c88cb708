"""TimeDistributed around a layer that already maps each step alone -> that layer.

Given: TimeDistributed wrapping a layer that acts on each step alone over the last axis: its
catalogue entry is `positionwise` and any axis it takes is -1 (Dense multiplies the last
axis whatever the rank; activations, a Softmax or batch norm over the last axis).
Result: the wrapped layer itself, under the wrapper's name, with the same weights and calls.
Same numbers; but Keras 3's TimeDistributed traces one slice per time step (1,942 Slice/
Squeeze pairs in ONNX for FactorNet's 969 steps), while Dense on a 3-D tensor is one MatMul.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from converter.artifacts import Layer
from converter.graph.passes import LayerPass
from converter.layers import spec_of


def rewrite(layer: Layer) -> tuple[Layer, list[str]] | None:
    """Unwrap one TimeDistributed whose inner layer is per-step already."""
    inner = layer.config.get("layer")
    if layer.class_name != "TimeDistributed" or not isinstance(inner, Mapping):
        return None
    class_name = str(inner.get("class_name"))
    config = {**inner.get("config", {}), "name": layer.name}
    if not per_step(class_name, config):
        return None
    note = f"TimeDistributed({class_name}) -> {class_name} (acts on the last axis already)"
    return replace(layer, class_name=class_name, config=config), [note]


def per_step(class_name: str, config: Mapping[str, object]) -> bool:
    """Whether a layer acts on each step alone, on the last axis whatever the rank."""
    spec = spec_of(class_name)
    return spec.positionwise(config) and (
        spec.axis_key is None or config.get(spec.axis_key, -1) in (-1, [-1]))


PASS = LayerPass("unwrap_time_distributed", rewrite)
