"""Load stage: any supported source -> LoadedModel (graph in the source's vocabulary)."""

from __future__ import annotations

from pathlib import Path

from converter.artifacts import LoadedModel, Provenance
from converter.load.detect import detect_format, file_sha256
from converter.load.hdf5 import read_hdf5
from converter.load.keras_zip import read_keras_zip

__all__ = ["load_path"]


def load_path(path: Path) -> LoadedModel:
    """Read a model file without executing anything from it."""
    kind = detect_format(path)
    if kind == "keras-zip":
        graph, version = read_keras_zip(path)
        provenance = Provenance(str(path), file_sha256(path), "keras-v3", version)
        return LoadedModel(graph, provenance, "keras")
    graph, version, backend = read_hdf5(path)
    major = version.split(".")[0]
    fmt = "keras3-h5" if major == "3" else "keras2-h5"
    provenance = Provenance(str(path), file_sha256(path), fmt, version, backend)
    return LoadedModel(graph, provenance, "keras" if major == "3" else "tf_keras")
