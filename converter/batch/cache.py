"""The batch's content-hash cache: an unchanged model is not converted again.

The key covers everything that decides the artifacts and the report: the bytes of the model
(every file of a SavedModel directory) and of its arch/inputs/calibration files, the options,
and converter's and each library's version. A hit also needs the previous run's report and
every artifact it lists, unchanged on disk (their sha256 rechecked), so a deleted or edited
output is rebuilt rather than trusted.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from converter.batch.config import BatchModel
from converter.load.detect import directory_sha256, file_sha256
from converter.report.schema import jsonable, library_versions

KEY_FILE = ".converter-cache-key"


def file_digest(path: Path) -> str:
    """sha256 of a file, or the hash of a directory's files (a SavedModel)."""
    return directory_sha256(path) if path.is_dir() else file_sha256(path)


def cache_key(model: BatchModel) -> str | None:
    """The model's key, or None when one of its files cannot be read.

    Such a model is converted, and the conversion reports what is wrong with the file.
    """
    options = {k: v for k, v in jsonable(model.options).items() if k != "output_dir"}
    inputs = [model.source, *(getattr(model.options, f) for f in ("arch", "inputs",
                                                                   "calibration"))]
    try:
        digests = [file_digest(Path(p)) if p is not None else None for p in inputs]
    except OSError:
        return None
    record = {"options": options, "files": digests, "versions": library_versions(),
              "code": code_digest()}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


@functools.cache
def code_digest() -> str:
    """sha256 of converter's own source, so an edited checkout never reuses old results."""
    return directory_sha256(Path(__file__).resolve().parents[1], "*.py")


def cached_report(model: BatchModel, key: str | None) -> dict[str, Any] | None:
    """The previous report when the key matches and its artifacts are intact, else None."""
    directory = model.options.output_dir
    try:
        if key is None or (directory / KEY_FILE).read_text().strip() != key:
            return None
        report: dict[str, Any] = json.loads((directory / "report.json").read_text())
        for artifact in report["artifacts"]:
            if file_digest(directory / artifact["path"]) != artifact["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return report


def remember(model: BatchModel, key: str | None) -> None:
    """Record the key beside a finished conversion's report."""
    if key is not None:
        (model.options.output_dir / KEY_FILE).write_text(key + "\n")
