"""Report documents on disk: one model's report.json, or a batch summary of many.

Every rendering, diff and merge reads documents through `entries`, so a single report and a
batch summary (or a merge of shard summaries) are handled by the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from converter.errors import (
    EXIT_INTERNAL,
    EXIT_MODEL_ERROR,
    EXIT_OK,
    EXIT_PARITY_FAILED,
    EXIT_RUNTIME_UNAVAILABLE,
    EXIT_USAGE,
    UsageError,
)
from converter.report.schema import SCHEMA

BATCH_SCHEMA = "converter.batch/1"
# Worst last: a bug in converter, a usage error stops everything, a model that did not
# convert shipped nothing, a failed check shipped wrong numbers, an unavailable runtime left a
# check undone.
SEVERITY = (EXIT_OK, EXIT_RUNTIME_UNAVAILABLE, EXIT_PARITY_FAILED, EXIT_MODEL_ERROR, EXIT_USAGE,
            EXIT_INTERNAL)
# Fields that say how long or whether work was redone, not what the result was.
TIMING_FIELDS = ("timings", "seconds", "cached")

Document = dict[str, Any]


def read_document(path: Path) -> Document:
    """A report.json or batch summary.json; anything else is a usage error saying what it is."""
    try:
        document: dict[str, Any] = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file; give a report.json or summary.json") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not a JSON report ({exc})") from exc
    schema = document.get("schema") if isinstance(document, dict) else None
    if schema not in (SCHEMA, BATCH_SCHEMA):
        raise UsageError(f"{path}: schema {schema!r} is not {SCHEMA!r} (a convert or verify "
                         f"report) nor {BATCH_SCHEMA!r} (a batch summary)")
    return document


def model_name(report: Mapping[str, Any]) -> str:
    """A report's model name: its source file's stem (a directory's name for a SavedModel)."""
    path = Path(str(report["source"]["path"]))
    return path.stem if path.suffix in (".h5", ".hdf5", ".keras") else path.name


def entries(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per model: name, exit_code, passed, error and report (None if not converted)."""
    if document.get("schema") == BATCH_SCHEMA:
        return [dict(entry) for entry in document["models"]]
    return [{"name": model_name(document), "exit_code": document["exit_code"],
             "passed": document["passed"], "error": "", "report": dict(document)}]


def worst_exit_code(codes: Iterable[int]) -> int:
    """The most severe of the exit codes (0 when there are none)."""
    ranked = [SEVERITY.index(c) if c in SEVERITY else len(SEVERITY) for c in codes]
    worst = max(ranked, default=0)
    return SEVERITY[worst] if worst < len(SEVERITY) else EXIT_INTERNAL


def batch_document(models: Sequence[Mapping[str, Any]]) -> Document:
    """A batch summary of model entries, in their given order; its verdict is the worst one."""
    code = worst_exit_code(m["exit_code"] for m in models)
    return {"schema": BATCH_SCHEMA, "passed": code == EXIT_OK, "exit_code": code,
            "models": [dict(m) for m in models]}


def merge(documents: Sequence[Mapping[str, Any]]) -> Document:
    """One batch summary of every model in `documents`.

    Entries that carry their batch position (`index`) are put back in that order, so the
    merged summaries of `--shard 1/n` ... `n/n` equal the unsharded run's. A model named twice
    is a usage error: the merge would have to drop one of the two.
    """
    models = [entry for document in documents for entry in entries(document)]
    seen: dict[str, int] = {}
    for entry in models:
        seen[entry["name"]] = seen.get(entry["name"], 0) + 1
    twice = sorted(name for name, count in seen.items() if count > 1)
    if twice:
        raise UsageError(f"model {twice[0]!r} is in more than one of the merged reports; "
                         "merge the reports of different models (or of disjoint shards)")
    ordered = sorted(enumerate(models),
                     key=lambda pair: (pair[1].get("index", pair[0]), pair[0]))
    return batch_document([entry for _, entry in ordered])


def without_timings(value: Any) -> Any:
    """A copy of a document without the fields that vary from run to run (for comparisons)."""
    if isinstance(value, Mapping):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
