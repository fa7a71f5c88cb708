"""Read a full-model `.h5`/`.hdf5` (Keras 2, tf.keras, Keras 3 legacy) with h5py directly.

Reading the `model_config` attribute and the weight groups ourselves, instead of calling a
Keras loader, means a file that no installed Keras can deserialise still loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from converter.artifacts import ModelGraph
from converter.errors import LoadError
from converter.load.config_graph import graph_from_config
from converter.load.weights import legacy_weights, text_attr, weights_root


def read_hdf5(path: Path) -> tuple[ModelGraph, str, str]:
    """The graph, Keras version and backend of a full-model HDF5 file."""
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise LoadError(f"{path}: is not a readable HDF5 file ({exc})") from None
    with handle:
        raw_config = text_attr(handle, "model_config")
        if raw_config is None:
            raise LoadError(
                f"{path}: holds weights only (no model_config attribute); converter needs the "
                "architecture too: save the full model with model.save() and convert that"
            )
        try:
            config = json.loads(raw_config)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{path}: model_config is not valid JSON ({exc})") from None
        version = text_attr(handle, "keras_version") or "unknown"
        backend = text_attr(handle, "backend") or "tensorflow"
        if version.startswith("1."):
            raise LoadError(
                f"{path}: was written by Keras {version}; Keras 1 files are not supported yet"
            )
        weights = legacy_weights(weights_root(handle))
    if not isinstance(config, dict):
        raise LoadError(f"{path}: model_config holds {type(config).__name__}, expected an object")
    return graph_from_config(config, weights), version, backend
