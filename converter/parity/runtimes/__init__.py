"""The registry of parity runtimes: explicit, by name, and lazy.

Each name maps to where its class lives and the library it needs, so listing the runtimes
(the CLI's choices, option validation) imports no runtime module; `create` imports the one
asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from converter.errors import UsageError
from converter.parity.runtimes.base import Runtime

REFERENCE = "keras"


@dataclass(frozen=True)
class Entry:
    """Where a runtime's class lives and the import it needs to run here."""

    module: str
    cls: str
    needs: str


PACKAGE = "converter.parity.runtimes"
REGISTRY: dict[str, Entry] = {
    "keras": Entry(f"{PACKAGE}.keras_source", "KerasSource", "keras"),
    "keras-normalized": Entry(f"{PACKAGE}.keras_normalized", "KerasNormalized", "keras"),
    "numpy": Entry(f"{PACKAGE}.numpy_reference", "NumpyReference", "numpy"),
    "tflite-xnnpack": Entry(f"{PACKAGE}.tflite_interpreter", "TfliteXnnpack", "ai_edge_litert"),
    "tflite-builtin": Entry(f"{PACKAGE}.tflite_interpreter", "TfliteBuiltin", "ai_edge_litert"),
    "tflite-reference": Entry(f"{PACKAGE}.tflite_interpreter", "TfliteReference",
                              "ai_edge_litert"),
    "litert-gpu-fp16": Entry(f"{PACKAGE}.litert_gpu", "LitertGpuFp16", "ai_edge_litert"),
    "litert-gpu-fp32": Entry(f"{PACKAGE}.litert_gpu", "LitertGpuFp32", "ai_edge_litert"),
    "ort-cpu": Entry(f"{PACKAGE}.onnxruntime_cpu", "OrtCpu", "onnxruntime"),
    "ort-cpu-noopt": Entry(f"{PACKAGE}.onnxruntime_cpu", "OrtCpuNoOpt", "onnxruntime"),
    "onnx-reference": Entry(f"{PACKAGE}.onnx_reference", "OnnxReference", "onnx"),
}


def create(name: str) -> Runtime:
    """A fresh runtime by name; an unknown name lists the valid ones."""
    if name not in REGISTRY:
        raise UsageError(f"unknown runtime {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    entry = REGISTRY[name]
    runtime: Runtime = getattr(importlib.import_module(entry.module), entry.cls)()
    return runtime


def server_kind(name: str) -> str:
    """The warm server a runtime's worker forks from (process/pool.py).

    The Keras runtimes need TensorFlow; every other one must never share a process with it.
    """
    return "tensorflow" if REGISTRY[name].needs == "keras" else "light"


def availability(name: str) -> str:
    """"" when the runtime can run here, else why not and how to fix it."""
    entry = REGISTRY[name]
    if importlib.util.find_spec(entry.needs) is None:
        return f"{entry.needs} is not installed; {create(name).install_hint}"
    return create(name).unavailable()
