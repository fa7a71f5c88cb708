"""Which Keras wrote a config: the version attribute when there is one, else the vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KERAS1_CLASSES = ("Convolution1D", "AtrousConvolution1D", "Merge", "Convolution2D")
KERAS1_KEYS = ("nb_filter", "filter_length", "border_mode", "subsample_length", "output_dim",
               "input_dtype", "inner_activation", "consume_less", "pool_length", "init")


def layer_entries(model_config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The layer entries of a Sequential (dict or Keras 1 list) or Functional config."""
    config = model_config.get("config")
    layers = config if isinstance(config, list) else (
        config.get("layers", []) if isinstance(config, Mapping) else []
    )
    return [e for e in layers if isinstance(e, Mapping)]


def keras_major(version: str | None, model_config: Mapping[str, Any]) -> str:
    """"1", "2" or "3": from the recorded version, else from the config's vocabulary."""
    if version and version[0] in "123" and (len(version) == 1 or version[1] == "."):
        return version[0]
    entries = layer_entries(model_config)
    for entry in entries:
        config = entry.get("config", {})
        if entry.get("class_name") in KERAS1_CLASSES or (
            isinstance(config, Mapping) and any(k in config for k in KERAS1_KEYS)
            and entry.get("class_name") != "Embedding"
        ):
            return "1"
    if any("module" in entry for entry in entries):
        return "3"
    return "2"
