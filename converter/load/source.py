"""Accept what `convert` is given: a path, or a live keras.Model / tf_keras.Model."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from converter.artifacts import LoadedModel
from converter.errors import LoadError
from converter.load import LoadOptions, load_path

Source = str | Path | Any


def open_source(
    source: Source, stack: ExitStack, options: LoadOptions | None = None
) -> tuple[LoadedModel, Path, str]:
    """The loaded model, a file the reference runtime can load, and the artifact stem.

    A live model is saved into a temporary directory that lives as long as `stack`, in the
    format of the library it belongs to, and then read like any file: one code path.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        return load_path(path, options), path.absolute(), path.stem
    module = type(source).__module__.split(".")[0]
    if module not in ("keras", "tf_keras") or not hasattr(source, "save"):
        raise LoadError(
            f"expected a path or a keras.Model / tf_keras.Model; received {type(source).__name__}"
        )
    folder = Path(stack.enter_context(TemporaryDirectory(prefix="converter-live-")))
    name = getattr(source, "name", None) or "model"
    path = folder / (f"{name}.keras" if module == "keras" else f"{name}.h5")
    source.save(path)
    loaded = load_path(path, options)
    provenance = replace(loaded.provenance, path=f"<in-memory {module}.Model {name}>")
    return replace(loaded, provenance=provenance), path, name
