"""Export stage: a built Keras 3 model -> artifact files in a staging directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from converter.artifacts import Artifact, ModelGraph
from converter.export.onnx import to_onnx
from converter.export.op_counts import onnx_op_counts, tflite_op_counts
from converter.export.signature import serving_function
from converter.export.tflite import to_tflite
from converter.interface import input_specs, output_names
from converter.options import ConvertOptions

__all__ = ["export", "tflite_name"]


def tflite_name(stem: str, precision: str) -> str:
    """`<stem>.tflite` for fp32, `<stem>.<precision>.tflite` otherwise."""
    return f"{stem}.tflite" if precision == "fp32" else f"{stem}.{precision}.tflite"


def export(
    models: dict[str, Any], graph: ModelGraph, stage: Path, stem: str, options: ConvertOptions
) -> list[Artifact]:
    """Write every requested artifact into `stage` and describe each one.

    `models` holds the built model per target (the same object unless a target needs its
    own form, like unrolled recurrent layers for TFLite).
    """
    specs, outputs = input_specs(graph), output_names(graph)
    files: list[tuple[str, str, str, bytes, dict[str, int]]] = []
    if "tflite" in options.to:
        function = serving_function(models["tflite"], specs, outputs)
        for precision in options.precision:
            data = to_tflite(function, models["tflite"], precision)
            files.append((tflite_name(stem, precision), "tflite", precision, data,
                          tflite_op_counts(data)))
    if "onnx" in options.to:
        function = serving_function(models["onnx"], specs, outputs)
        data = to_onnx(function, specs, options.opset)
        files.append((f"{stem}.onnx", "onnx", "fp32", data, onnx_op_counts(data)))
    # Both converters flatten the {name: tensor} outputs in sorted-key order.
    ordered = tuple(sorted(outputs))
    artifacts = []
    for name, fmt, precision, data, counts in files:
        (stage / name).write_bytes(data)
        artifacts.append(
            Artifact(name, fmt, precision, len(data), hashlib.sha256(data).hexdigest(), counts,
                     tuple(s.name for s in specs), ordered)
        )
    return artifacts
