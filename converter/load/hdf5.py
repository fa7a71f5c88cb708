"""Read legacy `.h5`/`.hdf5` files (Keras 1, Keras 2, tf.keras, Keras 3) with h5py directly.

Reading the `model_config` attribute and the weight groups ourselves, instead of calling a
Keras loader, means a file that no installed Keras can deserialise (every Keras 1 file)
still loads. A weights-only file takes its architecture from `--arch`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from converter.errors import LoadError
from converter.load.config_text import parse_json_config
from converter.load.weights import keras3_weights, legacy_weights, text_attr

WEIGHTS_ONLY = (
    "holds weights only (no model_config attribute); converter needs the architecture too: "
    "pass it with --arch model.json (or .yaml), or give converter.convert() the model object"
)


@dataclass(frozen=True)
class HDF5Contents:
    """What a legacy HDF5 file holds: config (None if weights only), weights, attributes."""

    config: Mapping[str, Any] | None
    weights: dict[str, tuple[Any, ...]]
    weight_names: dict[str, tuple[str, ...]]
    keras_version: str | None
    backend: str | None


def read_hdf5(path: Path, layer_classes: list[tuple[str, str]] | None = None) -> HDF5Contents:
    """The config (if any), weights and version attributes of an HDF5 Keras file.

    `layer_classes` ((name, class) in config order) is needed only for a Keras 3
    `.weights.h5`, whose groups are named by layer path.
    """
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise LoadError(f"{path}: is not a readable HDF5 file ({exc})") from exc
    with handle:
        raw_config = text_attr(handle, "model_config")
        config = None
        if raw_config is not None:
            config = parse_json_config(raw_config, f"{path}: model_config")
            if not isinstance(config, dict):
                raise LoadError(
                    f"{path}: model_config holds {type(config).__name__}, expected an object"
                )
        if config is None and layer_classes is None:
            raise LoadError(f"{path}: {WEIGHTS_ONLY}")
        root = handle["model_weights"] if "model_weights" in handle else handle
        if not isinstance(root, h5py.Group):
            raise LoadError(f"{path}: model_weights is not an HDF5 group")
        names: dict[str, tuple[str, ...]] = {}
        if "layer_names" in root.attrs:
            weights, names = legacy_weights(root)
        elif "layers" in root and config is None and layer_classes is not None:
            weights, _ = keras3_weights(handle, layer_classes)
        elif config is None:
            raise LoadError(f"{path}: holds no Keras model config and no Keras weights")
        else:
            weights = {}
        version = text_attr(handle, "keras_version") or text_attr(root, "keras_version")
        backend = text_attr(handle, "backend") or text_attr(root, "backend")
    return HDF5Contents(config, weights, names, version, backend)
