"""The report contract, built from fixed objects (no TensorFlow)."""

from __future__ import annotations

import json

from converter.artifacts import Artifact, ParityCheck, PassRecord, Provenance, Tolerance
from converter.options import ConvertOptions
from converter.report.schema import build_report, jsonable
from converter.report.terminal import summary_table


def report() -> dict:
    tol = Tolerance(1e-4, 1e-4, "measured")
    return build_report(
        provenance=Provenance("m.keras", "ab" * 32, "keras-v3", "3.15.1"),
        passes=[PassRecord("canonical_tuples", True, ("conv: kernel_size 3 -> (3,)",))],
        artifacts=[Artifact("m.tflite", "tflite", "fp32", 10, "cd" * 32, {"CONV_2D": 1},
                            ("x",), ("y",))],
        reference={"runtime": "keras", "status": "ok"},
        parity=[ParityCheck("tflite-xnnpack", "m.tflite", "failed", 2e-3, float("inf"),
                            "y: max abs 0.002 exceeds atol", tol)],
        inputs={"seed": 0, "cases": ({"x": [2, 6, 8]},)},
        options=ConvertOptions(),
        timings={"export": 0.12345},
        exit_code=1,
    )


def test_contract_keys_and_types() -> None:
    data = json.loads(json.dumps(report()))
    assert data["schema"] == "converter.report/1" and data["passed"] is False
    assert set(data["source"]) >= {"path", "sha256", "format", "keras_version"}
    assert data["passes"][0] == {"name": "canonical_tuples", "modified": True,
                                 "changes": ["conv: kernel_size 3 -> (3,)"]}
    assert data["artifacts"][0]["op_counts"] == {"CONV_2D": 1}
    check = data["parity"][0]
    assert {k: check[k] for k in ("runtime", "artifact", "status", "max_abs")} == {
        "runtime": "tflite-xnnpack", "artifact": "m.tflite", "status": "failed", "max_abs": 2e-3,
    }
    assert check["max_rel"] == "inf" and check["tolerance"]["atol"] == 1e-4
    assert data["timings"] == {"export": 0.123}
    assert data["options"]["output_dir"] == "converted"


def test_jsonable_never_emits_invalid_json() -> None:
    assert jsonable({"a": float("nan"), "b": (1, 2.5)}) == {"a": "nan", "b": [1, 2.5]}


def test_summary_table_has_a_row_per_check() -> None:
    table = summary_table(report())
    assert table.row_count == 1
    assert [c.header for c in table.columns][:3] == ["runtime", "artifact", "status"]
