"""The registry of parity runtimes: explicit, by name, importable without any runtime."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from converter.errors import InternalError, UsageError
from converter.verify.runtimes.base import Runtime
from converter.verify.runtimes.keras_normalized import KerasNormalized
from converter.verify.runtimes.keras_source import KerasSource
from converter.verify.runtimes.litert_gpu import LitertGpuFp16, LitertGpuFp32
from converter.verify.runtimes.numpy_reference import NumpyReference
from converter.verify.runtimes.onnx_reference import OnnxReference
from converter.verify.runtimes.onnxruntime_cpu import OrtCpu, OrtCpuNoOpt
from converter.verify.runtimes.tflite_interpreter import (
    TfliteBuiltin,
    TfliteReference,
    TfliteXnnpack,
)

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
register(KerasNormalized, "keras")
register(NumpyReference, "numpy")
register(TfliteXnnpack, "ai_edge_litert")
register(TfliteBuiltin, "ai_edge_litert")
register(TfliteReference, "ai_edge_litert")
register(LitertGpuFp16, "ai_edge_litert")
register(LitertGpuFp32, "ai_edge_litert")
register(OrtCpu, "onnxruntime")
register(OrtCpuNoOpt, "onnxruntime")
register(OnnxReference, "onnx")


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
    check = getattr(factory(), "unavailable", None)
    return check() if check is not None else ""
