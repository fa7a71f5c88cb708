"""Export stage: a built Keras 3 model -> artifact files in a staging directory."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import Artifact, ModelGraph
from converter.export.io_contract import file_io, onnx_contract, tflite_contract, with_layouts
from converter.export.onnx import to_onnx
from converter.export.onnx_graph import lowerings, optimize
from converter.export.op_counts import onnx_op_counts, tflite_op_counts
from converter.export.signature import serving_function
from converter.export.tflite import to_tflite
from converter.graph.interface import input_specs, output_names
from converter.layers import holds_recurrent
from converter.layers.recurrent_fused import fusion, recurrent_lowerings
from converter.options import ConvertOptions

__all__ = ["export", "onnx_artifact", "stock_onnx", "tflite_name"]


def tflite_name(stem: str, precision: str) -> str:
    """`<stem>.tflite` for fp32, `<stem>.<precision>.tflite` otherwise."""
    return f"{stem}.tflite" if precision == "fp32" else f"{stem}.{precision}.tflite"


def export(
    models: dict[str, Any], graph: ModelGraph, stage: Path, stem: str, options: ConvertOptions,
    calibration: list[dict[str, np.ndarray]] | None = None,
) -> list[Artifact]:
    """Write every requested artifact into `stage` and describe each one.

    `models` holds the built model per target (the same object unless a target needs its
    own form, like unrolled recurrent layers for TFLite); `calibration` holds the cases
    full int8 calibrates on.
    """
    specs, outputs = input_specs(graph), output_names(graph)
    names = tuple(s.name for s in specs)
    artifacts = []
    for precision in options.precision if "tflite" in options.to else ():
        # which LSTMs are fused depends on the file's precision (recurrent_fused)
        with fusion(precision):
            function = serving_function(models["tflite"], specs, outputs)
            data = tflite_contract(to_tflite(function, precision,
                                             samples(calibration or [], names)), names, outputs)
        artifacts.append(written(stage / tflite_name(stem, precision), "tflite", precision, data,
                                 graph, notes=recurrent_lowerings(models["tflite"])))
    if "onnx" in options.to:
        artifacts.append(onnx_artifact(stock_onnx(models["onnx"], graph, options.opset), graph,
                                       stage / f"{stem}.onnx", options.onnx_lowering))
    return artifacts


def onnx_artifact(stock: bytes, graph: ModelGraph, path: Path, lowering: str) -> Artifact:
    """tf2onnx's file through converter's ONNX passes with `lowering`, written to `path`."""
    data, passes = optimize(stock, lowering)
    data = onnx_contract(data, tuple(s.name for s in input_specs(graph)), output_names(graph))
    return written(path, "onnx", "fp32", data, graph, onnx_op_counts(stock), passes)


def written(path: Path, fmt: str, precision: str, data: bytes, graph: ModelGraph,
            before: dict[str, int] | None = None, passes: dict[str, int] | None = None,
            notes: tuple[str, ...] = ()) -> Artifact:
    """Write one file and describe it (its name is its path's)."""
    path.write_bytes(data)
    counts = onnx_op_counts(data) if fmt == "onnx" else tflite_op_counts(data)
    chosen = (*lowerings(passes or {}, data if fmt == "onnx" else None), *notes)
    return Artifact(path.name, fmt, precision, len(data), hashlib.sha256(data).hexdigest(),
                    counts, tuple(s.name for s in input_specs(graph)), output_names(graph),
                    op_counts_before=before or {}, graph_passes=passes or {},
                    lowerings=chosen, io=with_layouts(file_io(data, fmt), graph))


def stock_onnx(model: Any, graph: ModelGraph, opset: int) -> bytes:
    """tf2onnx's file for a built model, before converter's ONNX passes.

    tf2onnx finds a Keras LSTM/GRU loop and writes one LSTM/GRU node only where the batch is
    dynamic (at batch 1 TensorFlow rewrites the loop's transposes into reshapes and the
    Loop stays): a graph with recurrent layers is traced at a dynamic batch and its inputs
    and outputs are given the static batch after.
    """
    specs = input_specs(graph)
    batch = {s.shape[0] for s in specs}
    if None in batch or len(batch) != 1 or not any(
            holds_recurrent(layer.class_name, layer.config) for layer in graph.layers):
        return to_onnx(serving_function(model, specs, output_names(graph)), specs, opset)
    traced = tuple(replace(s, shape=(None, *s.shape[1:])) for s in specs)
    data = to_onnx(serving_function(model, traced, output_names(graph)), traced, opset)
    return with_batch(data, int(batch.pop() or 0))


def with_batch(data: bytes, batch: int) -> bytes:
    """The ONNX file with the first axis of its graph inputs and outputs fixed to `batch`."""
    import onnx

    model = onnx.load_from_string(data)
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_value = batch
    return bytes(model.SerializeToString())


def samples(
    cases: list[dict[str, np.ndarray]], names: tuple[str, ...]
) -> list[dict[str, np.ndarray]]:
    """Calibration samples: one {input name: batch-1 array} per example."""
    return [{name: case[name][row:row + 1] for name in names}
            for case in cases for row in range(len(case[names[0]]))]
