"""The runtime interface every parity runtime implements (Polygraphy's runner split)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from converter.errors import UsageError


class Runtime(Protocol):
    """Loads one artifact (or the source model) and runs it on named feeds.

    `accepts` is the artifact format it runs ("source", "graph", "tflite" or "onnx").
    Implementations import their library inside `load`, so the registry costs nothing to
    import. A runtime with `slow = True` is a plain reference evaluator: running out of time
    on a large model means "too slow here", not a hang, so verify reports it skipped while
    the optimised runtimes check the same file.
    """

    name: str
    accepts: str
    install_hint: str

    def load(self, path: str, loader: str) -> None:
        """Prepare the artifact at `path` (`loader` names the library for the source)."""
        ...

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run one case; outputs in the model's output order."""
        ...


def check_feeds(runtime: str, expected: Sequence[str], feeds: dict[str, np.ndarray]) -> None:
    """Refuse feeds whose names differ from the model's inputs, naming both sides."""
    if list(feeds) != list(expected):
        raise UsageError(
            f"{runtime}: inputs {list(feeds)} do not match the model's inputs {list(expected)}"
        )
