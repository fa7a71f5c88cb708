"""A runtime that fails inside its worker is a result; the parent carries on (no TF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import converter.process.worker as worker
from converter.parity.runner import WorkerJob, run_worker


def job(tmp: Path, runtime: str, target: Path) -> WorkerJob:
    inputs = tmp / "in.npz"
    np.savez(inputs, **{"0/x": np.zeros((1, 4), np.float32)})
    return WorkerJob(runtime, str(target), "keras", inputs, 1, ("x",))


def test_corrupt_tflite_is_reported_not_raised(tmp_path: Path) -> None:
    target = tmp_path / "broken.tflite"
    target.write_bytes(b"TFL3" + bytes(200))
    outcome = run_worker(job(tmp_path, "tflite-xnnpack", target), tmp_path, 60)
    assert outcome.status == "crashed"
    assert outcome.reason.startswith("ValueError")


def instead_of_the_worker(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Start `python -c code` where the worker's child interpreter would start (a fresh one:
    the session's warm servers are out of reach)."""
    import converter.process.pool as pool

    monkeypatch.setattr(pool, "_active", {})
    real = worker.subprocess.Popen

    def replaced(cmd: list[str], **kwargs: object) -> object:
        return real([cmd[0], "-c", code], **kwargs)

    monkeypatch.setattr(worker.subprocess, "Popen", replaced)


def test_killed_worker_is_reported_with_its_signal(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"")
    # The worker process gets SIGSEGV from itself before doing anything.
    instead_of_the_worker(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    outcome = run_worker(job(tmp_path, "ort-cpu", target), tmp_path, 60)
    assert (outcome.status, outcome.reason) == ("crashed", "crashed: SIGSEGV")


def test_hanging_worker_times_out(tmp_path: Path, monkeypatch) -> None:
    instead_of_the_worker(monkeypatch, "import time; time.sleep(30)")
    outcome = run_worker(job(tmp_path, "ort-cpu", tmp_path / "m.onnx"), tmp_path, 1)
    assert (outcome.status, outcome.reason) == ("timeout", "no result within 1 s")


@pytest.mark.parametrize(("budgeted", "check", "own", "runs"), [
    (False, 0.0, 100.0, True),   # --power full: always
    (True, 10.0, 1.0, True),     # 4 copies x 1 s <= the check's 10 s
    (True, 10.0, 3.0, False),    # 4 copies x 3 s > 10 s
    (True, 0.04, 0.45, True),    # 1.8 s in all: within POWER_FREE_S, however quick the check
    (True, 0.04, 0.6, False),    # 2.4 s: more than the check and than POWER_FREE_S
])
def test_planted_copies_run_by_default_only_where_they_cost_less_than_the_check(
        budgeted: bool, check: float, own: float, runs: bool) -> None:
    from converter.parity.worker import power_cost

    note = power_cost(4, budgeted, check, own)
    assert (note == "") is runs
    if not runs and check == 10.0:
        assert note.startswith("not measured by default: its 4 planted copies would take ~12")
        assert note.endswith("more than the check itself (10 s); --power full measures it")
    assert power_cost(0, budgeted, check, own) == ""
