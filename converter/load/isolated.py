"""Read HDF5 and .keras files in a forked child: a reader that hangs or crashes is a refusal.

h5py holds the interpreter lock inside HDF5's C code, so a damaged file that sends HDF5
into a loop (the fuzzer found one in 3,000) cannot be interrupted from any Python thread,
and one that crashes it would take the whole run down. The child reads the file and hands
the graph back as JSON plus an .npz of weights (no pickle); the parent waits at most the
stage's time limit and turns a silent or dead child into a LoadError (exit 3).
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from converter.artifacts import LoadedModel, Provenance
from converter.errors import ConverterError, LoadError, error_record, from_record
from converter.graph_io import load_graph, save_graph

POLL_S = 0.005


def load_in_child(read: Callable[[], LoadedModel], path: Path, timeout_s: float) -> LoadedModel:
    """`read()` in a forked child, its result handed back; LoadError if it hangs or dies."""
    if not hasattr(os, "fork"):  # pragma: no cover - not Linux or macOS
        return read()
    with tempfile.TemporaryDirectory(prefix="converter-load-") as tmp:
        folder = Path(tmp)
        pid = os.fork()
        if pid == 0:  # the child: read, write, leave without running any parent cleanup
            signal.alarm(int(timeout_s) + 5)  # dies by itself even if the parent is gone
            os._exit(child(read, folder))
        status = wait(pid, timeout_s)
        if status is None:
            raise LoadError(f"{path}: reading it took longer than {timeout_s:g} s (--timeout); "
                            "the HDF5 library stalled on it: the file is damaged") from None
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            raise LoadError(f"{path}: the HDF5 reader crashed on it ({name}); the file is "
                            "damaged") from None
        answer = json.loads((folder / "answer.json").read_text())
        if "error" in answer:
            raise from_record(answer)
        graph = load_graph(folder / "graph.json")
        return LoadedModel(graph, Provenance(**answer["provenance"]), answer["loader"])


def child(read: Callable[[], LoadedModel], folder: Path) -> int:
    """Run in the child: the loaded model, or the error, written to `folder`."""
    try:
        loaded = read()
        save_graph(loaded.graph, folder / "graph.json")
        answer = {"provenance": asdict(loaded.provenance), "loader": loaded.reference_loader}
    except ConverterError as exc:
        answer = error_record(exc)
    except BaseException as exc:  # noqa: BLE001 - reported by the parent like any bug
        answer = {"error": f"internal error while reading ({type(exc).__name__}: {exc})",
                  "exit_code": 3}
    (folder / "answer.json").write_text(json.dumps(answer))
    return 0


def wait(pid: int, timeout_s: float) -> int | None:
    """The child's wait status, or None after killing it at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(POLL_S)
