"""Keras 2 / tf.keras config keys that Keras 3 no longer accepts, mapped by their meaning.

Given: layer configs as Keras 2.x and tf.keras write them, wrappers' inner layer configs
included (a Bidirectional's LSTM).
Result: the same layers in keys Keras 3 accepts:
- what the layer's catalogue entry rewrites (`keras2_drift`): a recurrent layer's
  `time_major` (false dropped, true refused), a separable conv's unused `kernel_*` /
  `groups`, a transposed conv's `groups: 1`, a normalisation's one-element `axis` list;
- `batch_input_shape` / `input_shape` / `batch_size` on a non-input layer dropped (only a
  first layer's shape meant anything, and the InputLayer now carries it);
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
from converter.graph.passes import ConfigPass, rewrite_wrapped
from converter.layers import WRAPPED_KEYS, spec_of

SHAPE_KEYS = ("batch_input_shape", "input_shape", "batch_size")


def migrate(
    class_name: str, config: Mapping[str, Any], owner: str
) -> tuple[dict[str, Any], list[str]]:
    """The Keras 3 form of one layer config, and a note per change."""
    out: dict[str, Any] = dict(config)
    own = spec_of(class_name).keras2_drift
    notes = own(out, owner) if own is not None else []
    if class_name != "InputLayer":
        for key in SHAPE_KEYS:
            if key in out:
                out.pop(key)
                notes.append(f"{key} dropped (the InputLayer carries the shape)")
    for key, value in list(out.items()):
        inner_cfg = value.get("config") if isinstance(value, Mapping) else None
        if key.endswith("_initializer") and isinstance(inner_cfg, Mapping) and "dtype" in inner_cfg:
            out[key] = {**value, "config": {k: v for k, v in inner_cfg.items() if k != "dtype"}}
            notes.append(f"{key}: dtype dropped (Keras 3 initializers take none)")
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
