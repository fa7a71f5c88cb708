"""One batch model: its summary entry, from the cache or a conversion in its own process."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from converter.batch.cache import cache_key, cached_report, remember
from converter.batch.config import BatchModel
from converter.errors import EXIT_MODEL_ERROR
from converter.process.worker import how_it_ended, last_line, run_task
from converter.report.progress import StageListener
from converter.report.schema import jsonable
from converter.report.view import verdict


def run_model(model: BatchModel, use_cache: bool, listener: StageListener) -> dict[str, Any]:
    """One model's summary entry, from the cache when nothing that decides it changed."""
    start = time.monotonic()
    listener.begin(model.name)
    key = cache_key(model)
    report = cached_report(model, key) if use_cache else None
    if report is not None:
        entry = {"exit_code": report["exit_code"], "passed": report["passed"], "error": "",
                 "report": report}
    else:
        entry = converted(model)
        if entry["report"] is not None:
            remember(model, key)
    entry = {"name": model.name, "index": model.index, "source": str(model.source),
             "dir": model.name, **entry, "cached": report is not None,
             "seconds": round(time.monotonic() - start, 3)}
    listener.end(model.name, ("cached: " if report is not None else "") + verdict(entry))
    return entry


def converted(model: BatchModel) -> dict[str, Any]:
    """Convert in a process of its own; a process that dies is that model's error.

    The process is a fork of the batch's "conversion" server (a fresh interpreter where none
    runs: a Ray task). The worker enforces each stage's and each runtime's time limit
    itself, so the process as a whole has none.
    """
    with tempfile.TemporaryDirectory(prefix="converter-batch-") as tmp:
        outcome = run_task("converter.batch.worker", {
            "source": str(model.source), "options": jsonable(model.options)}, Path(tmp), None,
            server="conversion")
    if outcome.status == "ok":
        return dict(outcome.answer)
    reason = outcome.reason if outcome.status == "raised" else (
        f"{how_it_ended(outcome)}: {last_line(outcome.stderr)}")
    return {"exit_code": EXIT_MODEL_ERROR, "passed": False, "report": None,
            "error": f"the conversion process {reason}"}
