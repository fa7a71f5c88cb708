"""Load stage: any supported source -> LoadedModel (graph in the source's vocabulary)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from converter.artifacts import LoadedModel, ModelGraph, Provenance
from converter.errors import InternalError, LoadError
from converter.load.architecture import read_architecture
from converter.load.backend import decide_backend
from converter.load.config_graph import graph_from_config
from converter.load.detect import detect_format, file_sha256
from converter.load.dialect import keras_major, layer_entries
from converter.load.hdf5 import WEIGHTS_ONLY, read_hdf5
from converter.load.isolated import load_in_child, refusal, taken_back
from converter.load.keras_zip import read_keras_zip
from converter.load.plausible import check_plausible
from converter.process.pool import served
from converter.process.worker import exception_record, run_task

__all__ = ["LoadOptions", "load_path"]


@dataclass(frozen=True)
class LoadOptions:
    """How to read a source: its architecture file, backend override, Lambda opt-in.

    `custom_objects` are the classes `custom_specs` ("module:Class") named, resolved here;
    a reader in another process resolves the specs again.
    """

    arch: Path | None = None
    source_backend: str | None = None
    allow_lambda: bool = False
    custom_objects: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 300.0
    custom_specs: tuple[str, ...] = ()


def load_path(path: Path, options: LoadOptions | None = None) -> LoadedModel:
    """Read a model file or directory without executing anything from it.

    HDF5 and .keras files are read in a forked child (isolated.py), so a reader that hangs
    or crashes on a damaged file is a LoadError. A SavedModel is read by the warm TensorFlow
    server where one runs (savedmodel_task.py: this process then never imports TensorFlow).
    A model whose sizes or weights cannot be a working model is refused (plausible.py)
    before any layer is built.
    """
    options = options or LoadOptions()
    path = Path(path)
    kind = detect_format(path)
    if kind in ("hdf5", "keras-zip"):
        return load_in_child(lambda: read_checked(path, options), path, options.timeout_s)
    if kind == "savedmodel" and served("tensorflow") is not None:
        with tempfile.TemporaryDirectory(prefix="converter-load-") as workdir:
            return load_served(path, options, Path(workdir))
    return read_checked(path, options)


def load_served(path: Path, options: LoadOptions, workdir: Path) -> LoadedModel:
    """The SavedModel at `path`, read by a child of the TensorFlow server (savedmodel_task)."""
    request = {"path": str(path), "arch": str(options.arch) if options.arch else None,
               "source_backend": options.source_backend, "allow_lambda": options.allow_lambda,
               "custom_objects": list(options.custom_specs), "timeout_s": options.timeout_s}
    outcome = run_task("converter.load.savedmodel_task", request, workdir, options.timeout_s,
                       server="tensorflow")
    if outcome.status != "ok":
        raise refusal(outcome, path, options.timeout_s, "TensorFlow's SavedModel reader")
    return taken_back(outcome.answer, workdir)


def read_checked(path: Path, options: LoadOptions) -> LoadedModel:
    """read_source, its readers' errors as LoadErrors, then the plausibility checks."""
    try:
        loaded = read_source(path, options)
    except (OSError, KeyError, IndexError, ValueError, TypeError, AttributeError,
            RuntimeError) as exc:
        # h5py's errors from a damaged file surface wherever a value is first read, and a
        # config of the wrong shape fails wherever it is first looked up; but a wrong type
        # or attribute in converter's own code is converter's bug, not the file's.
        where = raised_in_converter(exc)
        if where and isinstance(exc, (TypeError, AttributeError)):
            raise InternalError(f"reading {path} raised {type(exc).__name__}: {exc}",
                                where) from exc
        raise LoadError(f"{path}: cannot be read as a Keras model; the file is damaged or "
                        f"not what its format promises ({type(exc).__name__}: "
                        f"{str(exc)[:300]})") from exc
    check_plausible(loaded.graph, path, set(options.custom_objects))
    return loaded


def raised_in_converter(exc: BaseException) -> str:
    """The file:line in converter's own code where `exc` was raised, or "" for a library's."""
    record = exception_record(exc)
    return str(record["where"]) if record["bug"] else ""


def read_source(path: Path, options: LoadOptions) -> LoadedModel:
    """The LoadedModel of a file or directory, by its detected format."""
    kind = detect_format(path)
    if kind == "savedmodel":
        from converter.load.savedmodel import read_savedmodel

        return read_savedmodel(path, options.allow_lambda, options.custom_objects)
    if kind == "keras-zip":
        if options.arch is not None:
            raise LoadError(f"{path}: a .keras file carries its architecture; drop --arch")
        graph, version = read_keras_zip(path, options.allow_lambda)
        provenance = Provenance(str(path), file_sha256(path), "keras-v3", version,
                                backend_decided_by="Keras 3 (cross-correlation on every backend)")
        # tf.keras 2.13+ writes .keras archives too; only tf.keras loads them back.
        return LoadedModel(graph, provenance, "tf_keras" if version.startswith("2.") else "keras")
    return load_hdf5(path, options)


def load_hdf5(path: Path, options: LoadOptions) -> LoadedModel:
    """A full-model HDF5 file, or a weights-only one with its `--arch` file."""
    architecture = read_architecture(options.arch) if options.arch else None
    classes = None
    if architecture is not None:
        classes = [(str(e.get("config", {}).get("name") or e.get("name")), str(e["class_name"]))
                   for e in layer_entries(architecture)]
    contents = read_hdf5(path, classes)
    config = architecture or contents.config
    if config is None:
        raise LoadError(f"{path}: {WEIGHTS_ONLY}")
    if architecture is not None and contents.config is not None:
        raise LoadError(f"{path}: is a full model (it has its own model_config); drop --arch")
    version = contents.keras_version or str(config.get("keras_version") or "") or None
    major = keras_major(version, config)
    if major == "3":
        backend, how = "tensorflow", "Keras 3 (cross-correlation on every backend)"
    else:
        names = [n for group in contents.weight_names.values() for n in group]
        backend, how = decide_backend(options.source_backend,
                                      contents.backend or config.get("backend"), config, names)
    graph = graph_from_config(config, contents.weights, contents.weight_names,
                              options.allow_lambda)
    check_weights_match(graph, contents.weights, path)
    graph = replace(graph, source_keras=major,
                    kernel_convention="convolution" if backend == "theano" else "cross-correlation")
    fmt = {"1": "keras1-h5", "2": "keras2-h5", "3": "keras3-h5"}[major]
    if architecture is not None:
        fmt = f"weights-h5+{options.arch.suffix.lstrip('.').lower() or 'json'}"  # type: ignore[union-attr]
    provenance = Provenance(
        str(path), file_sha256(path), fmt, version or f"{major}.x (inferred from the config)",
        backend, how,
        f"{options.arch} (sha256 {file_sha256(options.arch)})" if options.arch else "",
        graph.input_note,
    )
    reference = "numpy" if major == "1" or architecture is not None else (
        "keras" if major == "3" else "tf_keras")
    return LoadedModel(graph, provenance, reference)


def check_weights_match(graph: ModelGraph, weights: Mapping[str, tuple[Any, ...]],
                        path: Path) -> None:
    """Every weighted layer of the file must exist in the architecture, and vice versa."""
    names = {x.name for x in graph.layers}
    stray = sorted(n for n, w in weights.items() if w and n not in names)
    if stray:
        raise LoadError(
            f"{path}: holds weights for layers {stray[:8]} that the architecture does not have; "
            "is --arch the architecture these weights were saved from?"
        )
