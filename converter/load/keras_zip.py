"""Read a Keras 3 `.keras` archive: config.json, metadata.json and model.weights.h5."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import h5py

from converter.artifacts import ModelGraph
from converter.errors import LoadError
from converter.load.config_graph import graph_from_config
from converter.load.config_text import parse_json_config
from converter.load.weights import keras3_weights

# A config or weights file beyond these sizes is not a Conv1D model but a decompression bomb
# or a mistake; refuse it before inflating it.
MAX_CONFIG_BYTES = 64 << 20
MAX_WEIGHTS_BYTES = 4 << 30
# Weights compress a little (float noise); a member that inflates more than MAX_RATIO times
# its stored size beyond BOMB_FLOOR bytes is a decompression bomb, not a model.
MAX_RATIO, BOMB_FLOOR = 100, 16 << 20


def read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """One archive member, refusing missing and oversized ones."""
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        found = ", ".join(archive.namelist()[:5]) or "nothing"
        raise LoadError(
            f"{path}: the zip has no {name} (it holds {found}); expected a Keras 3 .keras file"
        ) from exc
    if info.file_size > limit:
        raise LoadError(f"{path}: {name} would inflate to {info.file_size} bytes; refusing")
    ratio = info.file_size // max(info.compress_size, 1)
    if info.file_size > BOMB_FLOOR and ratio > MAX_RATIO:
        raise LoadError(f"{path}: {name} would inflate {ratio} times to {info.file_size} bytes: "
                        "a decompression bomb; refusing")
    return archive.read(name)  # zipfile stops at the declared size and checks the CRC


def escaping_member(archive: zipfile.ZipFile) -> str | None:
    """The first member whose name would land outside an extraction directory, if any."""
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            return name
    return None


def read_keras_zip(path: Path, allow_lambda: bool = False) -> tuple[ModelGraph, str]:
    """The graph and Keras version of a `.keras` file."""
    try:
        with zipfile.ZipFile(path) as archive:
            escaping = escaping_member(archive)
            if escaping is not None:
                raise LoadError(f"{path}: the archive holds {escaping!r}, a path outside the "
                                "archive (path traversal); no Keras writes that: refusing")
            config_bytes = read_member(archive, "config.json", MAX_CONFIG_BYTES, path)
            meta_bytes = read_member(archive, "metadata.json", MAX_CONFIG_BYTES, path)
            weight_bytes = read_member(archive, "model.weights.h5", MAX_WEIGHTS_BYTES, path)
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{path}: is not a readable zip archive ({exc})") from exc
    config = parse_json(config_bytes, path, "config.json")
    metadata = parse_json(meta_bytes, path, "metadata.json")
    try:
        with h5py.File(io.BytesIO(weight_bytes), "r") as handle:
            weights, names = keras3_weights(handle, layer_classes(config))
    except OSError as exc:
        raise LoadError(f"{path}: model.weights.h5 is not readable HDF5 ({exc})") from exc
    graph = graph_from_config(config, weights, names, allow_lambda=allow_lambda)
    return graph, str(metadata.get("keras_version", "unknown"))


def layer_classes(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, class name) of the model's layers in config order, for weight-group lookup."""
    entries = config.get("config", {}).get("layers", [])
    return [
        (str(e.get("config", {}).get("name") or e.get("name")), str(e.get("class_name")))
        for e in entries if isinstance(e, dict)
    ]


def parse_json(data: bytes, path: Path, member: str) -> dict[str, Any]:
    """A JSON object from an archive member, or a LoadError naming the member."""
    value = parse_json_config(data, f"{path}: {member}")
    if not isinstance(value, dict):
        raise LoadError(f"{path}: {member} holds {type(value).__name__}, expected an object")
    return value
