"""Capture what native libraries print on file descriptor 2.

TensorFlow's C++ start-up lines and the TFLite converter's MLIR dumps bypass Python's
logging; a user should see our one-line message, with the native text kept for it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class Captured:
    """The text written to fd 2 while capturing; read it after the block ends."""

    text = ""


@contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Redirect fd 2 to a temporary file for the duration of the block."""
    captured = Captured()
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            captured.text = log.read().decode("utf-8", "replace")
