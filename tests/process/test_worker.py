"""The one worker mechanism: every way a task can end is its own, classified outcome."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

import numpy as np

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import LoadError, NotApplicable
from converter.graph.serialize import save_graph
from converter.process.worker import run_forked, run_task


def test_a_task_module_answers_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # The NumPy runtime's task on a one-Dense graph: y = 2 x.
    graph = ModelGraph((Layer("x", "InputLayer", {"batch_shape": [None, 2]}),
                        Layer("d", "Dense", {"units": 2, "use_bias": False},
                              (LayerCall((TensorRef("x"),)),), (2 * np.eye(2),))),
                       (TensorRef("x"),), (TensorRef("d"),))
    np.savez(tmp_path / "in.npz", **{"0/x": np.ones((1, 2), np.float32)})
    request = {"runtime": "numpy", "target": str(save_graph(graph, tmp_path / "g.json")),
               "loader": "numpy", "inputs": str(tmp_path / "in.npz"), "cases": 1,
               "outputs": str(tmp_path / "out.npz"), "input_names": ["x"], "feed_names": ["x"]}
    outcome = run_task("converter.parity.worker", request, tmp_path, 60)
    assert outcome.status == "ok", outcome
    assert outcome.answer == {"facts": {}, "power_note": ""}
    with np.load(tmp_path / "out.npz") as out:
        assert out["0/0"].tolist() == [[2.0, 2.0]]


@pytest.mark.parametrize(("behaviour", "status", "reason"), [
    (lambda: {"fine": 1}, "ok", ""),
    (lambda: (_ for _ in ()).throw(LoadError("bad file")), "error", "bad file"),
    (lambda: (_ for _ in ()).throw(NotApplicable("no GPU here")), "unavailable", "no GPU here"),
    (lambda: {}["missing"], "raised", "KeyError: 'missing'"),
    (lambda: os.kill(os.getpid(), signal.SIGSEGV), "crashed", "crashed: SIGSEGV"),
    (lambda: os._exit(7), "crashed", "exit status 7: no message"),
    (lambda: time.sleep(30), "timeout", "no result within 1 s"),
], ids=["ok", "converter-error", "not-applicable", "exception", "signal", "exit", "hang"])
def test_every_ending_of_a_forked_task_is_classified(behaviour, status: str, reason: str) -> None:
    outcome = run_forked(behaviour, 1)
    assert outcome.status == status
    assert outcome.reason == reason


def test_an_exception_names_its_file_and_line_and_whether_it_is_converters() -> None:
    def ours() -> dict[str, object]:
        from converter.layers.traits import size_of

        size_of("not a size")  # int("not a size") inside converter: ValueError there
        return {}

    outcome = run_forked(ours, 30)
    assert outcome.status == "raised" and outcome.bug is True
    assert outcome.where.startswith("converter/layers/traits.py:")
    library = run_forked(lambda: {"x": int("nope")}, 30)
    assert library.status == "raised" and library.bug is False


def test_a_converter_error_keeps_its_class_and_exit_code() -> None:
    outcome = run_forked(lambda: (_ for _ in ()).throw(LoadError("damaged")), 30)
    assert isinstance(outcome.error, LoadError) and outcome.error.exit_code == 3


def test_only_converter_modules_can_be_tasks(tmp_path: Path) -> None:
    outcome = run_task("os", {}, tmp_path, 60)
    assert outcome.status == "crashed" and "not a converter task module" in outcome.reason


def test_the_childs_stderr_is_kept(tmp_path: Path, monkeypatch) -> None:
    import converter.process.worker as worker

    real = worker.subprocess.Popen

    def noisy(cmd: list[str], **kwargs: object) -> object:
        code = "import sys; sys.stderr.write('x' * 300000 + '\\nlast words\\n'); sys.exit(3)"
        return real([sys.executable, "-c", code], **kwargs)

    monkeypatch.setattr(worker.subprocess, "Popen", noisy)
    outcome = run_task("converter.parity.worker", {}, tmp_path, 60)
    # 300 kB of stderr (more than a pipe holds) is read while the child runs: no deadlock.
    assert outcome.status == "crashed" and outcome.reason == "exit status 3: last words"
    assert len(outcome.stderr) > 300000
