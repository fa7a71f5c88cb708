"""Report documents for the rendering, diff and merge tests (no TensorFlow).

`kim_cnn.report.json` is a real report of the bundled kim_cnn.keras (fp32 + fp16), with its
paths, versions and timings made machine-independent. The other documents are edits of it
that stand for what a release meets: a failed check, a crash, a skipped runtime, a model that
did not convert.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from converter.report.documents import batch_document, entries

FIXTURES = Path(__file__).parent / "fixtures"


def base_report() -> dict[str, Any]:
    """A fresh copy of the real kim_cnn report."""
    return json.loads((FIXTURES / "kim_cnn.report.json").read_text())


def failing_report() -> dict[str, Any]:
    """The report as a release would see it go wrong: one failure, one crash, one skip."""
    report = copy.deepcopy(base_report())
    checks = {(c["runtime"], c["artifact"]): c for c in report["parity"]}
    failed = checks[("tflite-xnnpack", "kim_cnn.fp16.tflite")]
    failed.update(status="failed", max_abs=0.0421, reason="dense: max abs 0.0421 exceeds 0.005",
                  localization={"layer": "conv1d_1", "class_name": "Conv1D",
                                "max_abs": 0.0398})
    failed["outputs"][0].update(max_abs=0.0421, passed=False)
    crashed = checks[("ort-cpu-noopt", "kim_cnn.onnx")]
    crashed.update(status="crashed", max_abs=None, max_rel=None, outputs=[],
                   reason="crashed: SIGSEGV")
    skipped = checks[("onnx-reference", "kim_cnn.onnx")]
    skipped.update(status="skipped", max_abs=None, max_rel=None, outputs=[],
                   reason="onnx is not installed")
    report.update(passed=False, exit_code=1)
    return report


@pytest.fixture
def passing() -> dict[str, Any]:
    return base_report()


@pytest.fixture
def failing() -> dict[str, Any]:
    return failing_report()


@pytest.fixture
def batch() -> dict[str, Any]:
    """A batch of three: the passing model, the failing one, one that did not convert."""
    good, bad = entries(base_report())[0], entries(failing_report())[0]
    bad["name"] = "kim_cnn_fp16"
    refused = {"name": "lambda_model", "exit_code": 3, "passed": False, "report": None,
               "error": "lambda_1 (Lambda) holds Python bytecode; pass --allow-lambda"}
    return batch_document([{**e, "index": i} for i, e in enumerate((good, bad, refused))])
