"""Run one runtime's check as a worker task and turn however it ended into an outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from converter.parity.runtimes import server_kind
from converter.process.worker import Outcome, one_line, run_task

# How a runtime's worker ended, as the parity stage sees it.
RunStatus = Literal["ok", "crashed", "timeout", "skipped"]


@dataclass(frozen=True)
class WorkerOutcome:
    """status: "ok", "crashed", "timeout" or "skipped"; outputs[case][output] when "ok".

    `logits[case][k]` are the reference's logits (graph.logits order) where it computed
    them; `copies[k][case][output]` the outputs of planted-defect copy k, or `power_note`
    why the copies were not run.
    """

    status: RunStatus
    reason: str = ""
    seconds: float = 0.0
    outputs: list[list[np.ndarray]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    logits: list[list[np.ndarray]] = field(default_factory=list)
    copies: list[list[list[np.ndarray]]] = field(default_factory=list)
    power_note: str = ""


@dataclass(frozen=True)
class WorkerJob:
    """What one worker runs: a runtime on a target file, over the cases in `inputs`."""

    runtime: str
    target: str
    loader: str
    inputs: Path
    cases: int
    input_names: tuple[str, ...]
    custom_objects: tuple[str, ...] = ()
    allow_lambda: bool = False
    feed_names: tuple[str, ...] = ()
    copies: tuple[str, ...] = ()
    logits: tuple[str, str, int] | None = None  # (runtime, logits graph, first logits output)
    budgeted: bool = False  # copies only where they cost less than the check (--power auto)
    copy_inputs: Path | None = None  # the rows the copies run on, where not `inputs`


def run_worker(job: WorkerJob, workdir: Path, timeout_s: float) -> WorkerOutcome:
    """Run one job in a fresh interpreter; never raises for anything the runtime does."""
    tag = f"{job.runtime}-{Path(job.target).name}".replace("/", "_")
    outputs = workdir / f"{tag}.out.npz"
    request = {"runtime": job.runtime, "target": job.target, "loader": job.loader,
               "inputs": str(job.inputs), "outputs": str(outputs), "cases": job.cases,
               "input_names": list(job.input_names), "custom_objects": list(job.custom_objects),
               "allow_lambda": job.allow_lambda,
               "feed_names": list(job.feed_names or job.input_names),
               "copies": list(job.copies), "logits": job.logits,
               "budgeted": job.budgeted, "started": time.time(),
               "copy_inputs": str(job.copy_inputs) if job.copy_inputs else None}
    outcome = run_task("converter.parity.worker", request, workdir, timeout_s,
                       env={"PYTHONFAULTHANDLER": "0"}, server=server_kind(job.runtime))
    if outcome.status != "ok":
        return not_run(outcome)
    with np.load(outputs, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    note = str(outcome.answer.get("power_note") or "")
    copies = [] if note else [series(arrays, f"copy{k}/", job.cases)
                              for k in range(len(job.copies))]
    return WorkerOutcome("ok", "", outcome.seconds, series(arrays, "", job.cases),
                         dict(outcome.answer["facts"]), series(arrays, "logits/", job.cases),
                         copies, note)


def series(arrays: dict[str, np.ndarray], prefix: str, cases: int) -> list[list[np.ndarray]]:
    """Arrays saved as "<prefix><case>/<index>", as [case][index]."""
    keys = [k[len(prefix):] for k in arrays if k.startswith(prefix) and k[len(prefix):][:1]
            .isdigit()]
    count = 1 + max(int(key.split("/")[1]) for key in keys) if keys else 0
    if not count:
        return []
    return [[arrays[f"{prefix}{c}/{i}"] for i in range(count)] for c in range(cases)]


def not_run(outcome: Outcome) -> WorkerOutcome:
    """A runtime that gave no outputs: skipped where it cannot run, crashed where it failed."""
    if outcome.status == "unavailable":
        return WorkerOutcome("skipped", outcome.reason, outcome.seconds)
    if outcome.status == "timeout":
        return WorkerOutcome("timeout", outcome.reason, outcome.seconds)
    if outcome.error is not None:  # a ConverterError inside the runtime is its failure
        reason = one_line(f"{type(outcome.error).__name__}: {outcome.error.message}")
        return WorkerOutcome("crashed", reason, outcome.seconds)
    return WorkerOutcome("crashed", outcome.reason, outcome.seconds)
