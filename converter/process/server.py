"""Pre-imported task servers: `python -m converter.process.server KIND=FD ...`.

Importing TensorFlow costs seconds, and so does a fresh interpreter with onnxruntime and
LiteRT; a conversion runs a dozen tasks, a batch hundreds. A server imports its kind's
libraries once, then forks one child per task, so each task starts with them in place and
still ends in a process of its own: a crash, a hang or a kill is that child's, never the
server's. Two kinds exist because they must not meet in one process (LiteRT's GPU
accelerator segfaults where TensorFlow is imported): "tensorflow" (build, export, the Keras
references) and "light" (LiteRT, onnxruntime, the ONNX and NumPy references, the probes),
which never imports it. A batch adds a third, "conversion" (its per-model conversion
processes: converter's pipeline, a client of the other two that imports neither library).
One process imports what every kind uses (NumPy, ONNX: a second apiece), then forks the
other kinds' servers off and becomes the first kind's; they end with it.

Each kind listens on a Unix socket its owner (pool.py) bound and passed as FD. Every client
(the owner, or a batch's conversion processes) has a connection of its own; on it, one JSON
request per line (`{"id", "module", "request", "stderr", "env", "cwd"}`), and back
`{"id", "pid"}` when a task's child starts and `{"id", "status"}` (its wait status) when it
ends. A client that goes away takes its running children with it. The first connection is
the owner's: when it closes, or on SIGTERM, the server kills what is left and ends.
"""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import json
import os
import select
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARITY = "converter.parity"
PR_SET_PDEATHSIG = 1  # prctl(2)
PRELOADS: dict[str, tuple[str, ...]] = {
    "base": ("numpy", "numpy.random", "onnx", "converter.process.child"),
    "tensorflow": ("tensorflow", "keras", "tf_keras", "tf2onnx.convert", "converter.build",
                   "converter.load.savedmodel_task", "converter.load.savedmodel",
                   "ai_edge_litert.schema_py_generated",
                   "converter.export.write", "converter.export.worker",
                   f"{PARITY}.worker", f"{PARITY}.runtimes.keras_source",
                   f"{PARITY}.runtimes.keras_normalized", f"{PARITY}.source_layers",
                   f"{PARITY}.inputs", "converter.extensions.keras_tcn"),
    "light": ("onnx.reference", "onnx.reference.ops", "onnxruntime",
              "ai_edge_litert.interpreter", "ai_edge_litert.schema_py_generated",
              "ai_edge_litert.compiled_model",
              "ai_edge_litert._pywrap_analyzer_wrapper",
              "onnxruntime.tools.mobile_helpers.usability_checker", f"{PARITY}.delegates",
              f"{PARITY}.worker", f"{PARITY}.probe", f"{PARITY}.runtimes.tflite_interpreter",
              f"{PARITY}.runtimes.onnxruntime_cpu", f"{PARITY}.runtimes.onnx_reference",
              f"{PARITY}.runtimes.numpy_reference", f"{PARITY}.runtimes.litert_gpu",
              f"{PARITY}.defects_tflite", f"{PARITY}.defects_onnx"),
    "conversion": ("converter.batch.worker", "converter.api", "converter.process.watchdog",
                   "converter.graph.pipeline", "converter.export.isolated",
                   "converter.parity.stage", "converter.parity.delegates",
                   "converter.parity.search"),
}


def wakeup_pipe() -> tuple[int, int]:
    """The pipe SIGCHLD wakes the server through: both ends non-blocking."""
    read, write = os.pipe()
    for end_ in (read, write):
        os.set_blocking(end_, False)
    return read, write


@dataclass
class Client:
    """One connection: what it has sent but not finished, and its running children."""

    connection: socket.socket
    pending: bytes = b""
    children: dict[int, str] = field(default_factory=dict)  # pid -> task id
    gone: bool = False


@dataclass
class State:
    """What one server holds.

    Its listener, the pipe SIGCHLD wakes it through, its clients (the first is the owner)
    and the other kinds' servers forked off this one.
    """

    listener: socket.socket
    wakeup: tuple[int, int] = field(default_factory=wakeup_pipe)
    clients: list[Client] = field(default_factory=list)
    subservers: list[int] = field(default_factory=list)


STATE: list[State] = []  # the one State of this process, for the SIGTERM handler


def preload(kind: str) -> None:
    """Import what the kind's tasks use; a library missing here is the task's to report."""
    for name in PRELOADS[kind]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the task importing it again says what is wrong
            continue


def serve(state: State) -> None:
    """Accept clients and start a child per request line, until the owner leaves.

    It sleeps until a client writes or a child ends: SIGCHLD writes to a pipe it also
    waits on (`signal.set_wakeup_fd`), so a child that ends between two looks still wakes
    it, and nothing polls while tasks run.
    """
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(state.wakeup[1])
    while True:
        here = [client for client in state.clients if not client.gone]
        sockets = [state.listener.fileno(), state.wakeup[0],
                   *(client.connection.fileno() for client in here)]
        ready, _, _ = select.select(sockets, [], [])
        if state.wakeup[0] in ready:
            drain(state.wakeup[0])
        if state.listener.fileno() in ready:
            connection, _ = state.listener.accept()
            state.clients.append(Client(connection))
            tell(state.clients[-1], {"pid": os.getpid()})
        for client in [c for c in here if c.connection.fileno() in ready]:
            if not receive(state, client):
                if client is state.clients[0]:
                    return
                drop(client)
        reap(state)


def drain(descriptor: int) -> None:
    """Empty the wakeup pipe (its bytes only say that a signal came)."""
    try:
        while os.read(descriptor, 4096):
            pass
    except BlockingIOError:
        return


def receive(state: State, client: Client) -> bool:
    """Start a child for each complete request line; False when the client has gone."""
    try:
        chunk = client.connection.recv(65536)
    except OSError:
        chunk = b""
    if not chunk:
        return False
    *lines, client.pending = (client.pending + chunk).split(b"\n")
    for line in lines:
        request = json.loads(line)
        pid = start_child(request, state)
        client.children[pid] = request["id"]
        tell(client, {"id": request["id"], "pid": pid})
    return True


def drop(client: Client) -> None:
    """A client that went away: its children are killed (and reaped as they end)."""
    for pid in client.children:
        os.kill(pid, signal.SIGKILL)
    client.connection.close()
    client.gone = True


def end(*_: object) -> None:
    """End now (the owner left, or SIGTERM): the children left die with the server.

    os._exit: tearing down TensorFlow's modules at exit would cost a second for nothing.
    """
    for state in STATE:
        for client in state.clients:
            for pid in client.children:
                os.kill(pid, signal.SIGKILL)
        for pid in state.subservers:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    os._exit(0)


def start_child(request: Mapping[str, Any], state: State) -> int:
    """Fork the child that runs one task."""
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            die_with(server)
            code = run_child(request, state)
        finally:
            os._exit(code)
    return pid


def die_with(server: int) -> None:
    """Have the kernel kill this child when its server ends, however that ends.

    The server kills its children when it ends on its own or on SIGTERM, but not when it
    is killed outright (by its owner, which has not yet heard that it is ready while it
    already forks its first task; by the OOM killer): a task then ran on as an orphan (a
    hung reference, for its whole time limit).
    PR_SET_PDEATHSIG (Linux); a server gone before it took effect ends the child here.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the server's own kills remain
        return
    if os.getppid() != server:
        os._exit(1)


def run_child(request: Mapping[str, Any], state: State) -> int:
    """In the forked child: its own stderr file and environment, then the task."""
    from converter.process.child import main

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for descriptor in state.wakeup:
        os.close(descriptor)
    state.listener.close()
    for client in state.clients:
        if not client.gone:
            client.connection.close()
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    os.environ.clear()
    os.environ.update(request["env"])
    faulthandler.disable()
    if request["env"].get("PYTHONFAULTHANDLER", "1") != "0":
        faulthandler.enable()
    os.chdir(request["cwd"])
    try:
        return main(request["module"], Path(request["request"]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def reap(state: State) -> None:
    """Tell each client about its children that have ended since the last look."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in state.subservers:
            state.subservers.remove(pid)
        for client in [c for c in state.clients if pid in c.children]:
            task = client.children.pop(pid)
            if not client.gone:
                tell(client, {"id": task, "status": status})
    state.clients[1:] = [c for c in state.clients[1:] if not (c.gone and not c.children)]


def tell(client: Client, message: Mapping[str, Any]) -> None:
    """One line to a client; one that has gone is not told."""
    try:
        client.connection.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        return


def main(specs: list[str]) -> int:
    """Import the shared libraries, fork off every kind but the first, serve the first."""
    signal.signal(signal.SIGTERM, end)
    listeners = {kind: int(fd) for kind, _, fd in (spec.partition("=") for spec in specs)}
    preload("base")
    kinds = list(listeners)
    mine, subservers = kinds[0], list[int]()
    for kind in kinds[1:]:
        pid = os.fork()
        if pid == 0:
            mine, subservers = kind, []
            break
        subservers.append(pid)
    for kind, descriptor in listeners.items():
        if kind != mine:
            os.close(descriptor)
    state = State(socket.socket(fileno=listeners[mine]), subservers=subservers)
    STATE.append(state)
    preload(mine)
    serve(state)
    end()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
