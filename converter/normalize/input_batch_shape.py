"""Input layers declare their shape one way: Keras 3's `batch_shape`.

Given: an InputLayer config with Keras 2's `batch_input_shape` (or `input_shape` without the
batch axis) and a dtype as a string or policy.
Result: `batch_shape` as a list with the batch axis first (None when dynamic); the Keras 2
keys removed, their meaning kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer
from converter.errors import LoadError
from converter.graph.passes import ConfigPass


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Move the input shape to `batch_shape`."""
    if layer.class_name != "InputLayer":
        return None
    config = dict(layer.config)
    notes = []
    if "batch_input_shape" in config:
        config["batch_shape"] = list(config.pop("batch_input_shape"))
        notes.append("batch_input_shape -> batch_shape")
    if "input_shape" in config:
        config["batch_shape"] = [None, *config.pop("input_shape")]
        notes.append("input_shape -> batch_shape (batch axis added)")
    if "batch_shape" not in config:
        raise LoadError(f"input layer {layer.name} declares no shape")
    return config, notes


PASS = ConfigPass("input_batch_shape", rewrite)
