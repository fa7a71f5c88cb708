"""The registry of parity runtimes: explicit, by name, importable without any runtime."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from converter.errors import InternalError, UsageError
from converter.verify.runtimes.base import Runtime
from converter.verify.runtimes.keras_source import KerasSource
from converter.verify.runtimes.numpy_reference import NumpyReference
from converter.verify.runtimes.onnxruntime_cpu import OrtCpu
from converter.verify.runtimes.tflite_interpreter import TfliteXnnpack

REFERENCE = "keras"

# runtime name -> (factory, the import that must be present for it to run here)
REGISTRY: dict[str, tuple[Callable[[], Runtime], str]] = {}


def register(factory: Callable[[], Runtime], module: str) -> None:
    """Add a runtime; a name registered twice is a bug."""
    name = factory().name
    if name in REGISTRY:
        raise InternalError(f"runtime {name} registered twice")
    REGISTRY[name] = (factory, module)


register(KerasSource, "keras")
register(TfliteXnnpack, "ai_edge_litert")
register(OrtCpu, "onnxruntime")
register(NumpyReference, "numpy")


def create(name: str) -> Runtime:
    """A fresh runtime by name; an unknown name lists the valid ones."""
    if name not in REGISTRY:
        raise UsageError(f"unknown runtime {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name][0]()


def availability(name: str) -> str:
    """"" when the runtime can run here, else why not and how to fix it."""
    factory, module = REGISTRY[name]
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed; {factory().install_hint}"
    return ""
