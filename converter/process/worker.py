"""The one worker mechanism: a task in a process of its own, however that process ends.

Load, export, every parity runtime and batch run their work through it, so a native crash,
a hang or a bug in one task is a classified outcome, never the end of the caller:
- a task is a module of converter's with `run(request: dict, workdir: Path) -> dict`;
- the request and the answer are JSON files in a work directory the caller owns (arrays
  travel as .npz files the task writes there);
- `run_task` hands the task to a warm server of its kind (pool.py: a fork of a process
  that imported TensorFlow, or one that imported the runtimes and never TensorFlow, since
  LiteRT's GPU accelerator and TensorFlow must not share one), or starts
  `python -m converter.process.child MODULE REQUEST` (a fresh interpreter) where none is
  warm; `run_forked` runs a callable in a forked child of the caller (reading HDF5);
- the time limit kills the child; a signal, an exit without an answer, an exception (with
  its file:line) and a ConverterError are each their own status; the child's stderr is
  read while it runs (or written to a file, in a server's child) and kept.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from converter.errors import ConverterError, NotApplicable, error_record, from_record

if TYPE_CHECKING:  # the servers are imported by the first task, not by `converter --help`
    from converter.process.pool import Ended

WorkerStatus = Literal["ok", "error", "unavailable", "raised", "crashed", "timeout"]
POLL_S = 0.005
PACKAGE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    """How a task ended.

    Attributes:
        status: "ok" (answer holds the task's result), "error" (a ConverterError: `error`),
            "unavailable" (the task cannot run here: NotApplicable), "raised" (any other
            exception: its type and message in `reason`, its file:line in `where`),
            "crashed" (killed by a signal or gone without an answer), "timeout".
        bug: for "raised", whether the exception came from converter's own code (a bug in
            converter) rather than from a library it called.
    """

    status: WorkerStatus
    answer: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0
    where: str = ""
    bug: bool = False
    stderr: str = ""
    error: ConverterError | None = None


def run_task(module: str, request: Mapping[str, Any], workdir: Path, timeout_s: float | None,
             env: Mapping[str, str] | None = None, server: str | None = None) -> Outcome:
    """Run `module.run(request, workdir)` in a process of its own; never raises for it.

    `server` names the kind of warm server (pool.py) whose fork may run it; without one
    warm, in a fresh interpreter. `timeout_s` None leaves the time limits to the task.
    """
    tag = f"{module.rpartition('.')[2]}-{time.monotonic_ns()}"
    request_path = workdir / f"{tag}.request.json"
    request_path.write_text(json.dumps({"request": request, "workdir": str(workdir)}))
    answer = Path(f"{request_path}.answer.json")
    from converter.process.pool import served

    warm = served(server)
    if warm is not None:
        start = time.monotonic()
        stderr_path = workdir / f"{tag}.stderr"
        ended = warm.run(module, request_path, stderr_path, env or {}, timeout_s)
        if ended is not None:
            return served_outcome(ended, answer, stderr_path, time.monotonic() - start,
                                  timeout_s)
    return fresh(module, request_path, answer, timeout_s, env)


def fresh(module: str, request_path: Path, answer: Path, timeout_s: float | None,
          env: Mapping[str, str] | None) -> Outcome:
    """The task in a fresh interpreter (`python -m converter.process.child`)."""
    from converter.process.pool import child_environment, tracked

    environment = child_environment(env)
    start = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "converter.process.child", module, str(request_path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=environment)
    with tracked(child):
        try:
            _, stderr = child.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return timed_out(timeout_s)
    return classified(child.returncode, answer, stderr.decode("utf-8", "replace"),
                      time.monotonic() - start)


def served_outcome(ended: Ended, answer: Path, stderr_path: Path, seconds: float,
                   timeout_s: float | None) -> Outcome:
    """The outcome of a task a server's child ran (its stderr was a file)."""
    stderr = stderr_path.read_text("utf-8", "replace") if stderr_path.exists() else ""
    if ended.timed_out:
        return timed_out(timeout_s)
    if ended.status is None:
        return Outcome("crashed", reason="crashed: its worker server ended", seconds=seconds,
                       stderr=stderr)
    status = ended.status
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return classified(code, answer, stderr, seconds)


def timed_out(timeout_s: float | None) -> Outcome:
    """A task killed at its time limit."""
    return Outcome("timeout", reason=f"no result within {timeout_s or 0:g} s",
                   seconds=timeout_s or 0.0)


def run_forked(task: Callable[[], Mapping[str, Any]], timeout_s: float) -> Outcome:
    """Run `task()` in a forked child (same modules, no start-up cost); never raises for it.

    The child leaves with os._exit, running no cleanup of the parent's, and dies by itself
    a little after the limit even if the parent is gone.
    """
    with tempfile.TemporaryDirectory(prefix="converter-fork-") as tmp:
        answer = Path(tmp) / "answer.json"
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            faulthandler.disable()  # a crash is the parent's to report, not a dump here
            signal.alarm(int(timeout_s) + 5)
            write_answer(answer, lambda: task())
            os._exit(0)
        status = wait(pid, timeout_s)
        if status is None:
            return timed_out(timeout_s)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return classified(code, answer, "", time.monotonic() - start)


def wait(pid: int, timeout_s: float) -> int | None:
    """A forked child's wait status, or None after killing it at the deadline.

    Sleeps on the child's pidfd (Linux) until it ends; polls where there is none.
    """
    deadline = time.monotonic() + timeout_s
    try:
        handle: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):
        handle = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            if handle is None:
                time.sleep(POLL_S)
            else:
                select.select([handle], [], [], left)
    finally:
        if handle is not None:
            os.close(handle)


def classified(code: int, answer_path: Path, stderr: str, seconds: float) -> Outcome:
    """The outcome of a child that ended with `code` (negative: killed by that signal)."""
    if code < 0:
        name = signal.Signals(-code).name
        return Outcome("crashed", reason=f"crashed: {name}", seconds=seconds, stderr=stderr)
    if not answer_path.exists():
        return Outcome("crashed", reason=f"exit status {code}: {last_line(stderr)}",
                       seconds=seconds, stderr=stderr)
    answer = json.loads(answer_path.read_text())
    kind = answer["kind"]
    if kind == "ok":
        return Outcome("ok", answer["answer"], seconds=seconds, stderr=stderr)
    if kind == "error":
        error = from_record(answer["error"])
        return Outcome("error", reason=error.message, seconds=seconds, stderr=stderr,
                       error=error)
    return Outcome(kind, reason=answer["reason"], seconds=seconds, where=answer.get("where", ""),
                   bug=answer.get("bug", False), stderr=stderr)


def write_answer(path: Path, task: Callable[[], Mapping[str, Any]]) -> None:
    """Run `task` and write what happened to `path` (run in the child)."""
    try:
        answer: dict[str, Any] = {"kind": "ok", "answer": task()}
    except ConverterError as exc:
        answer = {"kind": "error", "error": error_record(exc)}
    except NotApplicable as exc:
        answer = {"kind": "unavailable", "reason": str(exc)[:400]}
    except BaseException as exc:  # noqa: BLE001 - the parent classifies it
        answer = {"kind": "raised", **exception_record(exc)}
    path.write_text(json.dumps(answer))


def exception_record(exc: BaseException) -> dict[str, Any]:
    """An exception's one-line reason, the file:line it was raised at, and whose line.

    `bug` is whether that line is converter's own code (a bug in converter) or a library's.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    innermost = frames[-1] if frames else None
    file = Path(innermost.filename).resolve() if innermost else None
    ours = file is not None and file.is_relative_to(PACKAGE)
    shown = file.relative_to(PACKAGE.parent) if ours and file else (file.name if file else "")
    where = f"{shown}:{innermost.lineno}" if innermost else ""
    return {"reason": one_line(f"{type(exc).__name__}: {exc}"), "where": where, "bug": ours}


def one_line(text: str) -> str:
    """A multi-line message as one line of at most 400 characters (tree marks stripped)."""
    lines = [x.strip(" └") for x in text.splitlines() if x.strip()]
    return " ".join(lines)[:400]


def last_line(stderr: str) -> str:
    """The last line a child printed on stderr."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1][:400] if lines else "no message"


def how_it_ended(outcome: Outcome) -> str:
    """A crashed child in words: 'crashed (SIGSEGV)' or 'exited with status N'."""
    reason = outcome.reason
    if reason.startswith("crashed: "):
        return f"crashed ({reason.removeprefix('crashed: ')})"
    return f"exited with status {reason.removeprefix('exit status ').split(':')[0]}"
