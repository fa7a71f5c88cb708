"""The runtime interface every parity runtime implements (Polygraphy's runner split)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np

from converter.errors import UsageError

# What a runtime runs: the source model, the normalised graph, or an artifact format.
Accepts = Literal["source", "graph", "tflite", "onnx"]


class Runtime(Protocol):
    """Loads one artifact (or the source model) and runs it on named feeds.

    `accepts` is what it runs. Implementations import their library inside `load`, so the
    registry costs nothing to import. A runtime with `slow = True` is a plain reference
    evaluator: running out of time on a large model means "too slow here", not a hang, so
    verify reports it skipped while the optimised runtimes check the same file.
    """

    name: str
    accepts: Accepts
    install_hint: str
    slow: bool

    def unavailable(self) -> str:
        """Why this runtime cannot run on this machine ("" when it can)."""
        ...

    def configure(self, custom_objects: Sequence[str], allow_lambda: bool) -> None:
        """The user's --custom-objects classes and --allow-lambda opt-in."""
        ...

    def load(self, path: str, loader: str) -> None:
        """Prepare the artifact at `path` (`loader` names the library for the source)."""
        ...

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run one case; outputs in the model's output order."""
        ...

    def facts(self) -> dict[str, Any]:
        """What the report should know beyond the numbers (e.g. fully_accelerated)."""
        ...


class Defaults:
    """What a runtime without those concerns answers.

    Always available, nothing to configure, no facts, not slow.
    """

    slow = False

    def unavailable(self) -> str:
        """Available wherever its library is installed."""
        return ""

    def configure(self, custom_objects: Sequence[str], allow_lambda: bool) -> None:
        """Nothing from the user to configure."""

    def facts(self) -> dict[str, Any]:
        """No facts beyond the numbers."""
        return {}


def check_feeds(runtime: str, expected: Sequence[str], feeds: dict[str, np.ndarray]) -> None:
    """Refuse feeds whose names differ from the model's inputs, naming both sides."""
    if list(feeds) != list(expected):
        raise UsageError(
            f"{runtime}: inputs {list(feeds)} do not match the model's inputs {list(expected)}"
        )
