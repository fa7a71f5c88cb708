"""Static delegate checks per artifact: what a mobile accelerator will take, before running it.

TFLite: LiteRT's analyzer with GPU compatibility on, Flex/custom ops, dynamic input axes and
run-time shape computations (SHAPE ops), which the GPU accelerator refuses even when the
analyzer accepts every op. ONNX: onnxruntime's mobile usability checker (how many nodes and
partitions NNAPI and CoreML would take, and which ops they cannot), and dynamic input axes.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from converter.artifacts import Artifact

SHAPE_OPS = ("SHAPE", "STRIDED_SLICE", "PACK", "GATHER", "SPACE_TO_BATCH_ND",
             "BATCH_TO_SPACE_ND")


def tflite_checks(path: Path, op_counts: Mapping[str, int]) -> dict[str, Any]:
    """GPU compatibility, flex ops, dynamic inputs and shape ops of a .tflite file."""
    from ai_edge_litert import _pywrap_analyzer_wrapper as analyzer
    from ai_edge_litert.interpreter import Interpreter

    text = analyzer.ModelAnalyzer(str(path), True, True)
    problems = [line.strip() for line in text.splitlines()
                if "GPU COMPATIBILITY WARNING" in line or "Not supported op" in line
                or ("ERROR" in line and "GPU" in line)]
    details = Interpreter(model_path=str(path)).get_input_details()
    dynamic = {d["name"]: [int(x) for x in d["shape_signature"]] for d in details
               if any(int(x) < 0 for x in d["shape_signature"])}
    shape_ops = {op: n for op, n in op_counts.items() if op in SHAPE_OPS}
    return {
        "gpu_analyzer_compatible": "looks compatible with GPU delegate" in text,
        "gpu_analyzer_problems": problems[:20],
        "flex_ops": sorted(op for op in op_counts if op.startswith(("Flex", "CUSTOM"))),
        "dynamic_inputs": dynamic,
        "shape_ops": shape_ops,
        "gpu_static_graph": not shape_ops,
    }


def partition(info: Any) -> dict[str, Any]:
    """The numbers of one onnxruntime PartitioningInfo."""
    return {
        "nodes": int(info.num_nodes),
        "supported_nodes": int(info.num_supported_nodes),
        "partitions": int(info.num_partitions),
        "unsupported_ops": sorted(info.unsupported_ops),
    }


def onnx_checks(path: Path) -> dict[str, Any]:
    """NNAPI and CoreML partitioning and dynamic inputs of an .onnx file."""
    import onnx
    from onnxruntime.tools.mobile_helpers import usability_checker

    logging.getLogger("usability_checker").setLevel(logging.ERROR)
    model = onnx.load(str(path))
    dynamic = {
        i.name: [d.dim_param or "?" if not d.HasField("dim_value") else d.dim_value
                 for d in i.type.tensor_type.shape.dim]
        for i in model.graph.input
        if any(not d.HasField("dim_value") for d in i.type.tensor_type.shape.dim)
    }
    return {
        "nnapi": partition(usability_checker.check_nnapi_partitions(model, False)),
        "coreml": partition(usability_checker.check_coreml_partitions(
            model, False, "coreml_supported_mlprogram_ops.md")),
        "dynamic_inputs": dynamic,
    }


def delegate_checks(path: Path, fmt: str, op_counts: Mapping[str, int]) -> dict[str, Any]:
    """The checks of one artifact; a checker that fails says so instead of hiding it."""
    try:
        if fmt == "tflite":
            return tflite_checks(path, op_counts)
        if fmt == "onnx":
            return onnx_checks(path)
    except Exception as exc:  # a checker bug must not cost the user the conversion
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    return {}


def with_delegate_checks(artifacts: Sequence[Artifact], root: Path,
                         timeout_s: float | None = None) -> list[Artifact]:
    """The artifacts (paths relative to `root`, or absolute) with their delegate checks.

    The checkers run in a worker (a warm "light" one where the conversion has it: LiteRT's
    analyzer and onnxruntime are imported there already); one that crashes or hangs gives
    every artifact an `error` saying so.
    """
    from converter.process.worker import run_task

    request = {"files": [[str(root / a.path), a.format, dict(a.op_counts)] for a in artifacts]}
    with tempfile.TemporaryDirectory(prefix="converter-delegates-") as tmp:
        outcome = run_task("converter.parity.delegates", request, Path(tmp), timeout_s,
                           server="light")
    found = outcome.answer.get("checks") if outcome.status == "ok" else None
    failed = {"error": f"the delegate checkers did not answer: {outcome.reason}"}
    return [replace(a, delegates=found[index] if found else failed)
            for index, a in enumerate(artifacts)]


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """The delegate checks of every file in the request (a `process.worker` task)."""
    return {"checks": [delegate_checks(Path(path), fmt, counts)
                       for path, fmt, counts in request["files"]]}
