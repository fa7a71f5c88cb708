"""Warm task servers: a task forked from a pre-imported server ends as a fresh one would."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.graph.serialize import save_graph
from converter.process.pool import served, warm_servers
from converter.process.worker import run_task
from tests.conftest import living_processes

# These tests start, kill and count servers of their own, not the session's.
pytestmark = pytest.mark.usefixtures("no_task_servers")


def numpy_request(tmp_path: Path) -> dict[str, object]:
    """The NumPy runtime's task on a one-Dense graph: y = 2 x."""
    graph = ModelGraph((Layer("x", "InputLayer", {"batch_shape": [None, 2]}),
                        Layer("d", "Dense", {"units": 2, "use_bias": False},
                              (LayerCall((TensorRef("x"),)),), (2 * np.eye(2),))),
                       (TensorRef("x"),), (TensorRef("d"),))
    np.savez(tmp_path / "in.npz", **{"0/x": np.ones((1, 2), np.float32)})
    return {"runtime": "numpy", "target": str(save_graph(graph, tmp_path / "g.json")),
            "loader": "numpy", "inputs": str(tmp_path / "in.npz"), "cases": 1,
            "outputs": str(tmp_path / "out.npz"), "input_names": ["x"], "feed_names": ["x"]}


def mapped(pid: int, library: str) -> bool:
    """Whether a process has a shared library of that name mapped."""
    return library in Path(f"/proc/{pid}/maps").read_text()


def ready(kind: str) -> int:
    """The pid of the warm server of this kind, once it has said it."""
    server = served(kind)
    assert server is not None
    deadline = time.monotonic() + 120
    while not server.pid and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.pid


def test_a_served_task_answers_and_its_server_never_imports_tensorflow(tmp_path: Path) -> None:
    with warm_servers(("tensorflow", "light")):
        outcome = run_task("converter.parity.worker", numpy_request(tmp_path), tmp_path, 120,
                           server="light")
        light, tensorflow = ready("light"), ready("tensorflow")
        assert light != tensorflow and light != os.getpid()
        # The light server (LiteRT's GPU accelerator forks from it) holds no TensorFlow;
        # the other one has it imported before any task asks.
        deadline = time.monotonic() + 120
        while not mapped(tensorflow, "libtensorflow") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert mapped(tensorflow, "libtensorflow") and not mapped(light, "libtensorflow")
        assert mapped(light, "onnxruntime")
    assert outcome.status == "ok", outcome
    assert outcome.answer == {"facts": {}, "power_note": ""}
    with np.load(tmp_path / "out.npz") as out:
        assert out["0/0"].tolist() == [[2.0, 2.0]]
    assert served("light") is None  # the servers end with the block
    for pid in (light, tensorflow):
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
            f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.parametrize(("fault", "status", "reason"), [
    ("segv", "crashed", "crashed: SIGSEGV"),
    ("hang", "timeout", "no result within 2 s"),
])
def test_a_served_task_that_dies_or_hangs_is_classified_and_the_server_goes_on(
        tmp_path: Path, fault: str, status: str, reason: str) -> None:
    request = numpy_request(tmp_path)
    with warm_servers(("light",)):
        outcome = run_task("converter.parity.worker", request, tmp_path, 2,
                           env={"CONVERTER_INJECT_FAULT": f"numpy:{fault}"}, server="light")
        again = run_task("converter.parity.worker", request, tmp_path, 120, server="light")
    assert (outcome.status, outcome.reason) == (status, reason)
    assert again.status == "ok", again  # the next task on the same server


def test_a_served_tasks_stderr_and_exceptions_are_kept(tmp_path: Path) -> None:
    with warm_servers(("light",)):
        raised = run_task("converter.parity.worker", {}, tmp_path, 120, server="light")
        crashed = run_task("converter.parity.worker", numpy_request(tmp_path), tmp_path, 120,
                           env={"CONVERTER_INJECT_FAULT": "numpy:segv",
                                "PYTHONFAULTHANDLER": "1"}, server="light")
    assert raised.status == "raised" and raised.reason == "KeyError: 'runtime'"
    assert raised.where.startswith("converter/parity/worker.py:") and raised.bug
    # The child's stderr went to a file of its own: the fault handler's dump is there.
    assert crashed.status == "crashed" and "Fatal Python error: Segmentation fault" in (
        crashed.stderr)


def test_a_task_whose_server_has_gone_runs_in_a_fresh_interpreter(tmp_path: Path) -> None:
    with warm_servers(("light",)):
        pid = ready("light")
        os.kill(pid, 9)
        server = served("light")
        deadline = time.monotonic() + 60
        while server is not None and not server.gone and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome = run_task("converter.parity.worker", numpy_request(tmp_path), tmp_path, 120,
                           server="light")
    assert outcome.status == "ok", outcome


JOINER = """
import json, os, sys, time
from pathlib import Path
from converter.process.pool import served, warm_servers
from converter.process.worker import run_task
request, workdir, fault = json.loads(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with warm_servers(("light",)):
    server = served("light")
    while not server.pid:
        time.sleep(0.05)
    print(server.pid, flush=True)
    env = {"CONVERTER_INJECT_FAULT": f"numpy:{fault}"} if fault else {}
    print(run_task("converter.parity.worker", request, workdir, 120, env=env,
                   server="light").status, flush=True)
"""


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    return [child for child, (parent, _) in living_processes().items() if parent == pid]


def test_a_process_started_inside_a_shared_block_joins_its_servers(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    with warm_servers(("light",), share=True):
        light = ready("light")
        done = subprocess.run([sys.executable, "-c", JOINER, json.dumps(
            numpy_request(tmp_path)), str(tmp_path), ""], capture_output=True, text=True,
            timeout=300)
        assert done.stdout.split() == [str(light), "ok"], done.stderr
        # A joining client that goes away mid-task takes its task's child with it.
        hanging = subprocess.Popen([sys.executable, "-c", JOINER, json.dumps(
            numpy_request(tmp_path)), str(tmp_path), "hang"], stdout=subprocess.PIPE,
            text=True)
        assert hanging.stdout is not None and hanging.stdout.readline().strip() == str(light)
        deadline = time.monotonic() + 60
        while not children_of(light) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children_of(light)) == 1
        hanging.kill()
        hanging.wait()
        while children_of(light) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children_of(light) == []
        outcome = run_task("converter.parity.worker", numpy_request(tmp_path), tmp_path, 120,
                           server="light")  # the owner's own tasks go on
        assert outcome.status == "ok"
    assert "CONVERTER_SERVERS" not in os.environ  # the block restores the environment


PARTIAL = """
import os, time
from converter.process.pool import served, warm_servers
with warm_servers(("light", "conversion"), share=True):
    pids = []
    for kind in ("light", "conversion"):
        server = served(kind)
        while not server.pid:
            time.sleep(0.05)
        pids.append(server.pid)
    print(*pids, os.getpid(), flush=True)
    print(*sorted(entry.partition("=")[0]
                  for entry in os.environ["CONVERTER_SERVERS"].split(";")), flush=True)
"""


def test_a_block_joins_the_kinds_served_around_it_and_starts_the_rest(tmp_path: Path) -> None:
    """A batch inside a converting process (the CLI under a session's servers): it joins
    the "light" server it finds and starts only its "conversion" server, and names both to
    the processes it starts."""
    import subprocess
    import sys

    with warm_servers(("light",), share=True):
        light = ready("light")
        done = subprocess.run([sys.executable, "-c", PARTIAL], capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    joined, conversion, client = map(int, first.split())
    assert joined == light and conversion not in (light, client)
    assert second.split() == ["conversion", "light"]
