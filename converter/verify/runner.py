"""Start a runtime's worker process and turn however it ended into an outcome."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from converter.verify.worker import EXIT_RAISED, EXIT_UNAVAILABLE


@dataclass(frozen=True)
class WorkerOutcome:
    """status: "ok", "crashed", "timeout" or "skipped"; outputs[case][output] when "ok"."""

    status: str
    reason: str = ""
    seconds: float = 0.0
    outputs: list[list[np.ndarray]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)


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


def run_worker(job: WorkerJob, workdir: Path, timeout_s: float) -> WorkerOutcome:
    """Run one job in a fresh interpreter; never raises for anything the runtime does."""
    tag = f"{job.runtime}-{Path(job.target).name}".replace("/", "_")
    request, outputs = workdir / f"{tag}.json", workdir / f"{tag}.out.npz"
    facts = workdir / f"{tag}.facts.json"
    request.write_text(json.dumps({
        "runtime": job.runtime, "target": job.target, "loader": job.loader,
        "inputs": str(job.inputs), "outputs": str(outputs), "cases": job.cases,
        "facts": str(facts),
        "input_names": list(job.input_names), "custom_objects": list(job.custom_objects),
        "allow_lambda": job.allow_lambda,
        "feed_names": list(job.feed_names or job.input_names),
    }))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONFAULTHANDLER": "0"}
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "converter.verify.worker", str(request)],
            capture_output=True, timeout=timeout_s, env=env, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return WorkerOutcome("timeout", f"no result within {timeout_s:g} s", timeout_s)
    seconds = time.monotonic() - start
    if done.returncode < 0:
        return WorkerOutcome("crashed", f"crashed: {signal.Signals(-done.returncode).name}",
                             seconds)
    if done.returncode in (EXIT_RAISED, EXIT_UNAVAILABLE):
        status = "skipped" if done.returncode == EXIT_UNAVAILABLE else "crashed"
        return WorkerOutcome(status, last_reason(done.stderr), seconds)
    if done.returncode != 0:
        return WorkerOutcome("crashed", f"exit status {done.returncode}: "
                             f"{last_reason(done.stderr)}", seconds)
    with np.load(outputs, allow_pickle=False) as data:
        count = 1 + max(int(key.split("/")[1]) for key in data.files) if data.files else 0
        values = [[data[f"{c}/{i}"] for i in range(count)] for c in range(job.cases)]
    found = json.loads(facts.read_text()) if facts.exists() else {}
    return WorkerOutcome("ok", "", seconds, values, found)


def last_reason(stderr: bytes) -> str:
    """The worker's JSON reason line, or the last line it printed."""
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    for line in reversed(lines):
        try:
            return str(json.loads(line)["reason"])
        except (ValueError, KeyError, TypeError):
            continue
    return lines[-1][:400] if lines else "no message"


def how_it_ended(code: int) -> str:
    """A worker's exit status in words: 'crashed (SIGSEGV)' or 'exited with status N'."""
    return f"crashed ({signal.Signals(-code).name})" if code < 0 else f"exited with status {code}"
