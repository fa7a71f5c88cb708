"""Keras 2 / tf.keras config keys that Keras 3 no longer accepts, mapped by their meaning.

Given: layer configs as Keras 2.x and tf.keras write them, wrappers' inner layer configs
included (a Bidirectional's LSTM).
Result: the same layers in keys Keras 3 accepts:
- `time_major: false` dropped (Keras 3 RNNs are batch-major); `true` is refused, since
  silently reading time-major weights as batch-major would compute wrong numbers;
- `batch_input_shape` / `input_shape` / `batch_size` on a non-input layer dropped (only a
  first layer's shape meant anything, and the InputLayer now carries it);
- SeparableConv1D's inherited `kernel_*` / `groups` keys dropped (Keras 2 never used them:
  a separable conv has depthwise and pointwise kernels);
- Conv1DTranspose's inherited `groups: 1` dropped (transposed convs are never grouped);
- a one-element `axis` list (BatchNormalization, LayerNormalization) as its int;
- an initializer's `dtype` (tf.keras 1.x-era files wrote it; Keras 3 initializers take the
  layer's dtype) dropped: initializers only shape training, the trained weights are loaded;
- a wrapped layer config (`{"class_name", "config"}`) given Keras 3's `module` key, without
  which Keras 3 cannot resolve even a built-in class.
Keys this pass does not know are left in place, so Keras 3 names them if it refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer
from converter.errors import LoadError
from converter.normalize._infra import WRAPPED_KEYS, ConfigPass, rewrite_wrapped

SHAPE_KEYS = ("batch_input_shape", "input_shape", "batch_size")
SEPARABLE_UNUSED = ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint")


def migrate(
    class_name: str, config: Mapping[str, Any], owner: str
) -> tuple[dict[str, Any], list[str]]:
    """The Keras 3 form of one layer config, and a note per change."""
    out, notes = dict(config), []
    if "time_major" in out:
        if out.pop("time_major"):
            raise LoadError(
                f"layer {owner}: time_major=True RNNs have no Keras 3 equivalent; save the "
                "model with time_major=False"
            )
        notes.append("time_major=False dropped (Keras 3 RNNs are batch-major)")
    if class_name != "InputLayer":
        for key in SHAPE_KEYS:
            if key in out:
                out.pop(key)
                notes.append(f"{key} dropped (the InputLayer carries the shape)")
    if class_name.startswith("SeparableConv"):
        for key in SEPARABLE_UNUSED:
            if key in out:
                out.pop(key)
                notes.append(f"{key} dropped (unused by separable convolutions)")
    if class_name.endswith("Transpose") and "groups" in out:
        if out.pop("groups") != 1:
            raise LoadError(f"layer {owner}: a grouped transposed convolution has no Keras 3 form")
        notes.append("groups=1 dropped (transposed convolutions are never grouped)")
    for key, value in list(out.items()):
        inner_cfg = value.get("config") if isinstance(value, Mapping) else None
        if key.endswith("_initializer") and isinstance(inner_cfg, Mapping) and "dtype" in inner_cfg:
            out[key] = {**value, "config": {k: v for k, v in inner_cfg.items() if k != "dtype"}}
            notes.append(f"{key}: dtype dropped (Keras 3 initializers take none)")
    axis = out.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and "Normalization" in class_name:
        out["axis"] = int(axis[0])
        notes.append(f"axis {axis} -> {axis[0]}")
    rewrite_wrapped(out, notes, lambda inner, config: migrate(inner, config, owner))
    for key in WRAPPED_KEYS:
        inner = out.get(key)
        if isinstance(inner, Mapping) and "config" in inner and "module" not in inner:
            out[key] = {**inner, "module": "keras.layers"}
            notes.append(f"{key}: module keras.layers given to {inner.get('class_name')}")
    return out, notes


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Migrate one layer's config."""
    return migrate(layer.class_name, layer.config, layer.name)


PASS = ConfigPass("keras2_drift", rewrite)
