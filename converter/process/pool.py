"""Warm task servers: each kind's libraries imported once per conversion, or once per batch.

`warm_servers()` starts a "tensorflow" and a "light" server (server.py) for the work inside
it (a batch adds a "conversion" server, whose forks are its per-model processes), or, where
an enclosing process already runs them (a batch: its conversions run in processes of their
own), connects to those: their sockets are named in CONVERTER_SERVERS, which the owner sets
for the processes it starts. `run_task` hands a task to the kind's server where one is
connected, and starts a fresh interpreter where none is (or where the server has gone).
The servers start in the background, so their imports overlap with whatever the caller
does before its first task; they end with the owner's block (the children a timeout left
are killed by their server, and so are those of a client that went away).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("tensorflow", "light")
BATCH_KINDS = (*KINDS, "conversion")  # a batch's conversions fork from a server too
ADDRESSES = "CONVERTER_SERVERS"  # "kind=socket path;..." of servers a process may join
FRESH = "CONVERTER_FRESH_WORKERS"  # "1": every task in a fresh interpreter, no servers
START_S = 600.0  # a server that has not started a task by then is given up on
_active: dict[str, Server] = {}
_lock = threading.Lock()
_fresh: set[subprocess.Popen[bytes]] = set()  # fresh interpreters running a task
_fresh_blocks = [0]  # how many warm_servers blocks are open where no server runs


@dataclass(frozen=True)
class Ended:
    """How a served task ended.

    `status` is its wait status (None: its server went first); `timed_out` whether it was
    killed at its time limit.
    """

    status: int | None
    timed_out: bool = False


class Server:
    """This process's connection to one kind's server, and the tasks it has in hand.

    `address` is its socket. A reader thread turns the server's lines into per-task queues;
    a task whose server ends under it hears `Ended(None)`. `pid` is the server's, once it
    has said it (after its imports); `ready` is set then, or when the server has gone.
    """

    def __init__(self, kind: str, address: Path) -> None:
        self.kind = kind
        self.address = address
        self.connection = connected(address)
        self.pid = 0
        self.waiting: dict[str, queue.Queue[dict[str, Any]]] = {}
        self.ids = itertools.count()
        self.lock = threading.Lock()
        self.gone = False
        self.closed = False
        self.ready = threading.Event()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        """Route each line to its task; at the end, tell every task still waiting."""
        try:
            with self.connection.makefile("rb") as lines:
                for line in lines:
                    message = json.loads(line)
                    with self.lock:
                        if "id" not in message:
                            self.pid = int(message["pid"])
                            self.ready.set()
                        box = self.waiting.get(str(message.get("id")))
                    if box is not None:
                        box.put(message)
        except (OSError, ValueError):  # reset, or closed by `close`: the server has gone
            pass
        with self.lock:
            self.gone = True
            boxes = list(self.waiting.values())
        self.ready.set()
        for box in boxes:
            box.put({"gone": True})

    def run(self, module: str, request: Path, stderr: Path, env: Mapping[str, str],
            timeout_s: float | None) -> Ended | None:
        """Run one task in a child of the server.

        None when the server cannot take it (it has gone: the caller starts a fresh
        interpreter); Ended(None) once this side closed it. The child gets this process's
        environment with `env` over it. Past `timeout_s` it is killed, and the status says
        so (SIGKILL).
        """
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self.lock:
            if self.closed:  # the conversion is over: no fresh interpreter in its place
                return Ended(None)
            if self.gone:
                return None
            task = str(next(self.ids))
            self.waiting[task] = box
            line = {"id": task, "module": module, "request": str(request),
                    "stderr": str(stderr), "cwd": os.getcwd(),
                    "env": {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}}
            try:
                self.connection.sendall((json.dumps(line) + "\n").encode())
            except OSError:
                self.waiting.pop(task)
                return None
        try:
            ended = self.wait(box, timeout_s)
        finally:
            with self.lock:
                self.waiting.pop(task, None)
        return Ended(None) if ended is None and self.closed else ended

    @staticmethod
    def wait(box: queue.Queue[dict[str, Any]], timeout_s: float | None) -> Ended | None:
        """The task's end; its child killed at the deadline (None: it never started)."""
        try:
            started = box.get(timeout=START_S)  # the server accepts once it has imported
        except queue.Empty:
            return None
        if "gone" in started:
            return None
        try:
            ended = box.get(timeout=timeout_s)
        except queue.Empty:
            os.kill(int(started["pid"]), signal.SIGKILL)
            ended = box.get()
            return Ended(None if "gone" in ended else int(ended["status"]), timed_out=True)
        return Ended(None if "gone" in ended else int(ended["status"]))

    def close(self) -> None:
        """Leave the server (the owner leaving ends it, and its children with it)."""
        with self.lock:
            self.gone = self.closed = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


@dataclass
class Owned:
    """Servers this process started: their process, the sockets' folder, its connections."""

    process: subprocess.Popen[bytes]
    folder: Path
    servers: list[Server]

    def close(self) -> None:
        """End the servers, whether they are importing still or serving.

        One still importing has no task running: it is killed outright (a forked-off kind
        then ends by itself when it finds its owner gone). One serving ends on SIGTERM,
        taking its children and the other kinds with it.
        """
        serving = any(server.pid for server in self.servers)
        for server in self.servers:
            server.close()
        if serving:
            self.process.terminate()
        else:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(kinds: tuple[str, ...]) -> Owned:
    """Start the server process (it forks the other kinds' servers off); connect to each."""
    folder = Path(tempfile.mkdtemp(prefix="converter-servers-"))
    listeners = {}
    for kind in kinds:
        listeners[kind] = socket.socket(socket.AF_UNIX)
        listeners[kind].bind(str(folder / kind))
        listeners[kind].listen(64)
    specs = [f"{kind}={listener.fileno()}" for kind, listener in listeners.items()]
    process = subprocess.Popen(
        [sys.executable, "-m", "converter.process.server", *specs],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=child_environment(),
        pass_fds=[listener.fileno() for listener in listeners.values()])
    servers = []
    for kind, listener in listeners.items():
        servers.append(Server(kind, folder / kind))  # the first: the owner
        listener.close()
    return Owned(process, folder, servers)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a process started to run converter's tasks.

    This process's, TensorFlow's logging quiet, and the folder this converter package is in
    first on PYTHONPATH: the child runs the code its parent runs, wherever its working
    directory is and whichever converter is installed.
    """
    root = str(Path(__file__).resolve().parent.parent.parent)
    paths = [root, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                     if p and p != root)]
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join(paths),
            **(extra or {})}


def connected(path: Path) -> socket.socket:
    """A connection to the server listening at `path` (it is accepted once it has imported)."""
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(str(path))
    return connection


def joined(kinds: tuple[str, ...]) -> list[Server]:
    """Connections to those of `kinds` an enclosing process serves (CONVERTER_SERVERS)."""
    addresses = dict(entry.partition("=")[::2] for entry in
                     os.environ.get(ADDRESSES, "").split(";") if entry)
    servers = []
    for kind in kinds:
        try:
            servers.append(Server(kind, Path(addresses[kind])))
        except (KeyError, OSError):  # not served there, or its server has gone
            continue
    return servers


@contextmanager
def warm_servers(kinds: tuple[str, ...] = KINDS, share: bool = False) -> Iterator[None]:
    """Serve the tasks started inside this block from warm servers.

    A kind an enclosing block or process serves is joined, the others are started. Nested
    blocks share the servers; so do the processes started inside the block where `share` is
    set (a batch's conversions): CONVERTER_SERVERS names every server this process has. With
    CONVERTER_FRESH_WORKERS=1 none start: every task gets a fresh interpreter.
    """
    if os.environ.get(FRESH) == "1":
        with fresh_block():
            yield
        return
    with _lock:
        servers = joined(tuple(kind for kind in kinds if kind not in _active))
        missing = tuple(k for k in kinds if k not in _active and k not in
                        {server.kind for server in servers})
        owned = start(missing) if missing else None
        servers += owned.servers if owned is not None else []
        _active.update((server.kind, server) for server in servers)
        before = os.environ.get(ADDRESSES)
        if share:
            os.environ[ADDRESSES] = ";".join(f"{s.kind}={s.address}" for s in _active.values())
    try:
        yield
    finally:
        with _lock:
            for server in servers:
                _active.pop(server.kind, None)
            if share:
                restore(before)
        if owned is not None:
            owned.close()
        for server in servers:
            server.close()


@contextmanager
def fresh_block() -> Iterator[None]:
    """A block without servers, whose fresh interpreters end with it.

    Those still running when the outermost block ends are killed, as a server's children
    would be (the reference a failed export left running).
    """
    with _lock:
        _fresh_blocks[0] += 1
    try:
        yield
    finally:
        with _lock:
            _fresh_blocks[0] -= 1
            left = list(_fresh) if _fresh_blocks[0] == 0 else []
        for child in left:
            child.kill()


@contextmanager
def tracked(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """`child` (a fresh interpreter) belongs to the open block while this one is open."""
    with _lock:
        _fresh.add(child)
    try:
        yield
    finally:
        with _lock:
            _fresh.discard(child)


def restore(value: str | None) -> None:
    """CONVERTER_SERVERS as it was before the block."""
    if value is None:
        os.environ.pop(ADDRESSES, None)
    else:
        os.environ[ADDRESSES] = value


def wait_ready(kind: str, timeout_s: float) -> None:
    """Wait until the kind's server has finished its imports, at most `timeout_s`.

    At once where it is ready already (a warm batch) or none is connected (fresh
    interpreters import per task).
    """
    server = served(kind)
    if server is not None:
        server.ready.wait(timeout_s)


def served(kind: str | None) -> Server | None:
    """The warm server of this kind, if one is connected."""
    if kind is None:
        return None
    with _lock:
        return _active.get(kind)
