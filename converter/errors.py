"""User-facing errors, each carrying the exit code DESIGN.md assigns to its stage.

`ConverterError` is the one root the CLI catches: its message is printed as one line and its
`exit_code` becomes the process status. `InternalError` is kept apart on purpose: it marks a
bug in this tool, never the user's input, and has its own exit status (70, EX_SOFTWARE) and
message naming where converter went wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EXIT_OK = 0
EXIT_PARITY_FAILED = 1
EXIT_USAGE = 2
EXIT_MODEL_ERROR = 3
EXIT_RUNTIME_UNAVAILABLE = 4
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug in converter


class ConverterError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code: int = EXIT_MODEL_ERROR
    # (layer, why) for each layer an error is about (UnsupportedLayersError lists them).
    problems: tuple[tuple[str, ...], ...] = ()

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ConverterError):
    """Options that contradict each other or name things that do not exist."""

    exit_code = EXIT_USAGE


class LoadError(ConverterError):
    """The source could not be read as a Keras model."""


class UnsupportedLayersError(LoadError):
    """One or more layers cannot be handled; lists every one of them at once."""

    def __init__(self, problems: Sequence[tuple[str, str]], remedy: str) -> None:
        listed = "; ".join(f"{name} ({why})" for name, why in problems)
        super().__init__(f"unsupported layers: {listed}. {remedy}")
        self.problems = tuple(problems)


class NormalizeError(ConverterError):
    """A normalisation pass could not bring the graph to canonical Keras 3 form."""

    def __init__(self, pass_name: str, done: Sequence[str], message: str) -> None:
        before = ", ".join(done) if done else "none"
        super().__init__(f"pass {pass_name} failed: {message} (passes already applied: {before})")
        self.pass_name = pass_name


class BuildError(ConverterError):
    """The normalised graph could not be instantiated as a Keras 3 model."""


class ExportError(ConverterError):
    """An exporter (TFLite converter, tf2onnx) refused the model."""


class RuntimeUnavailableError(ConverterError):
    """A runtime the user required explicitly cannot run on this machine."""

    exit_code = EXIT_RUNTIME_UNAVAILABLE


class NotApplicable(Exception):
    """A parity runtime cannot evaluate this model (its limit, not the model's fault).

    Raised inside a runtime's worker; the check is reported `skipped` with the reason.
    """


class UnsupportedByReference(NotApplicable):
    """The graph uses something the NumPy reference does not implement."""


class InternalError(Exception):
    """A bug in converter itself: never caused by user input, never swallowed.

    `where` is the file:line of converter's code that failed, when known.
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        at = f" at {self.where}" if self.where else ""
        return (f"internal error in converter: {self.message}{at}; this is a bug in "
                "converter, not a problem with your model: please report it")


def error_record(error: ConverterError) -> dict[str, object]:
    """A ConverterError as JSON, for a worker process to hand to its parent."""
    return {"error": error.message, "exit_code": error.exit_code, "class": type(error).__name__,
            "problems": [list(p) for p in error.problems]}


def from_record(record: Mapping[str, Any]) -> ConverterError:
    """The error of `error_record`, as the same class, message, exit code and problems."""
    cls = globals().get(str(record.get("class")))
    if not (isinstance(cls, type) and issubclass(cls, ConverterError)):
        cls = ConverterError
    error = cls.__new__(cls)
    ConverterError.__init__(error, str(record["error"]))
    error.exit_code = int(record["exit_code"])
    error.problems = tuple(tuple(p) for p in record.get("problems") or ())
    return error
