"""Stage-by-stage progress: rich spinners on a terminal, nothing anywhere else.

The pipeline calls `begin` and `end` on a StageListener; it never knows whether anyone is
watching. Progress goes to stderr so `--json` keeps stdout a clean document.
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from converter.artifacts import FAILURES


class StageListener(Protocol):
    """Told when a stage (load, export, one runtime's check...) starts and how it ended."""

    def begin(self, stage: str) -> None:
        """A stage started."""

    def end(self, stage: str, outcome: str = "done") -> None:
        """A stage ended with `outcome` (done, passed, failed...)."""


class Silent:
    """The listener for pipes, files, `--quiet` and the Python API."""

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def begin(self, stage: str) -> None:
        """Nothing to show."""

    def end(self, stage: str, outcome: str = "done") -> None:
        """Nothing to show."""


class Spinners:
    """One spinner line per stage on stderr, ticked off with its outcome when it ends."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=console or Console(stderr=True),
                                 transient=False)
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()  # runtimes' checks end from worker threads

    def __enter__(self) -> Spinners:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def begin(self, stage: str) -> None:
        """Add a spinning line for the stage."""
        with self.lock:
            self.tasks[stage] = self.progress.add_task(stage, total=1)

    def end(self, stage: str, outcome: str = "done") -> None:
        """Complete the stage's line and say how it ended."""
        colour = "red" if outcome in FAILURES else "green"
        with self.lock:
            task = self.tasks.get(stage)
            if task is not None:
                self.progress.update(task, completed=1,
                                     description=f"{stage}: [{colour}]{outcome}[/]")


def listener_for(quiet: bool, as_json: bool) -> Silent | Spinners:
    """Spinners only when stderr is a terminal and nobody asked for quiet or JSON."""
    if quiet or as_json or not sys.stderr.isatty():
        return Silent()
    return Spinners()
