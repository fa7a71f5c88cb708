"""The per-stage time limit (`--timeout`): a stage that outlives it ends the process cleanly.

A hang inside TensorFlow's or tf2onnx's native code cannot be interrupted from Python, so
the limit is a timer thread: when it fires it removes this process's staging directories
(nothing is published under a final name), prints one error line and exits with status 3.
Used by the CLI and batch workers, whose process is theirs to end; the Python API leaves a
caller's process alone. Each runtime's parity check has its own limit in its worker.
"""

from __future__ import annotations

import os
import shutil
import threading

from converter.errors import EXIT_MODEL_ERROR
from converter.process.staging import ACTIVE
from converter.report.progress import StageListener

LIMITED = ("load", "normalize", "export")  # build runs inside the export stage's worker


class Watchdog:
    """A StageListener that passes events on and arms a timer for each limited stage."""

    def __init__(self, inner: StageListener, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds
        self.timers: dict[str, threading.Timer] = {}
        # The terminal's stderr as it is now: a stage may have redirected fd 2 (TensorFlow's
        # chatter is captured) by the time the timer fires.
        self.stderr = os.dup(2)

    def begin(self, stage: str) -> None:
        """Start the stage's timer, then tell the inner listener."""
        if stage in LIMITED:
            # A little later than the limit itself: where a stage enforces it in-process
            # (reading a file in a child), its own clearer error comes first.
            timer = threading.Timer(self.seconds * 1.1 + 1, self.expire, [stage])
            timer.daemon = True
            self.timers[stage] = timer
            timer.start()
        self.inner.begin(stage)

    def end(self, stage: str, outcome: str = "done") -> None:
        """Stop the stage's timer, then tell the inner listener."""
        timer = self.timers.pop(stage, None)
        if timer is not None:
            timer.cancel()
        self.inner.end(stage, outcome)

    def expire(self, stage: str) -> None:
        """Remove staged output, say which stage overran, exit 3."""
        for directory in list(ACTIVE):
            shutil.rmtree(directory, ignore_errors=True)
        os.write(self.stderr, f"error: the {stage} stage took longer than {self.seconds:g} s "
                 "(--timeout); nothing was written. Raise --timeout for a model this large, "
                 "or report the model if it should not take this long\n".encode())
        os._exit(EXIT_MODEL_ERROR)
