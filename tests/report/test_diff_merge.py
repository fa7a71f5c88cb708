"""`converter report diff|merge|render` on report files (no TensorFlow, no conversion)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.errors import UsageError
from converter.report.diff import diff
from converter.report.documents import batch_document, entries, merge, without_timings


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_diff_names_the_parity_regression_and_exits_1(tmp_path: Path, passing: dict,
                                                      failing: dict) -> None:
    result = CliRunner().invoke(main, ["report", "diff", write(tmp_path / "old.json", passing),
                                       write(tmp_path / "new.json", failing)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == "REGRESSION kim_cnn: verdict PASSED -> NOT PASSED (exit 1)"
    assert ("REGRESSION kim_cnn: tflite-xnnpack on kim_cnn.fp16.tflite: passed -> failed "
            "(max abs 5.45e-05 -> 0.0421) dense: max abs 0.0421 exceeds 0.005") in lines
    assert "REGRESSION kim_cnn: ort-cpu-noopt on kim_cnn.onnx: passed -> crashed " \
           "(max abs 5.96e-08 -> -) crashed: SIGSEGV" in lines
    assert "CHANGE kim_cnn: onnx-reference on kim_cnn.onnx: newly skipped " \
           "(onnx is not installed)" in lines
    assert lines[-1] == "3 regression(s), 1 other change(s)"


def test_diff_the_other_way_is_improvement_and_exits_0(tmp_path: Path, passing: dict,
                                                       failing: dict) -> None:
    result = CliRunner().invoke(main, ["report", "diff", write(tmp_path / "old.json", failing),
                                       write(tmp_path / "new.json", passing)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("IMPROVEMENT kim_cnn: verdict NOT PASSED (exit 1) -> PASSED")


def test_diff_reports_size_op_count_and_lost_artifacts(passing: dict) -> None:
    new = copy.deepcopy(passing)
    onnx = next(a for a in new["artifacts"] if a["format"] == "onnx")
    onnx["bytes"] += 1000
    onnx["op_counts"]["Identity"] = 2
    new["artifacts"] = [a for a in new["artifacts"] if a["path"] != "kim_cnn.fp16.tflite"]
    found = {(c.kind, c.what) for c in diff(passing, new)}
    size = passing["artifacts"][2]["bytes"]
    assert ("change", f"kim_cnn.onnx: size {size:,} -> {size + 1000:,} bytes "
            f"(+{100000 / size:.1f}%)") in found
    assert ("change", "kim_cnn.onnx: ops 18 -> 20 (Identity 0->2)") in found
    assert ("regression", "kim_cnn.fp16.tflite: no longer produced") in found


def test_diff_of_identical_reports_is_empty_and_exit_0(tmp_path: Path, passing: dict) -> None:
    path = write(tmp_path / "r.json", passing)
    result = CliRunner().invoke(main, ["report", "diff", path, path])
    assert (result.exit_code, result.output) == (0, "no changes\n")


def test_diff_flags_error_growth_within_tolerance(passing: dict) -> None:
    new = copy.deepcopy(passing)
    check = new["parity"][2]
    check["max_abs"] = check["max_abs"] * 50
    changes = diff(passing, new)
    assert [c.kind for c in changes] == ["change"]
    assert "error grew" in changes[0].what and "still passed" in changes[0].what


def test_merge_restores_batch_order_and_worst_exit(tmp_path: Path, batch: dict) -> None:
    models = batch["models"]
    shard_a = batch_document([models[0], models[2]])
    shard_b = batch_document([models[1]])
    out = tmp_path / "all.json"
    result = CliRunner().invoke(main, ["report", "merge", write(tmp_path / "b.json", shard_b),
                                       write(tmp_path / "a.json", shard_a), "-o", str(out)])
    assert result.exit_code == 3, result.output  # the worst: a model that did not convert
    assert json.loads(out.read_text()) == batch


def test_merge_of_single_reports_and_refusal_of_duplicates(passing: dict, failing: dict) -> None:
    merged = merge([passing, failing | {"source": failing["source"] | {"path": "x/other.h5"}}])
    assert [m["name"] for m in merged["models"]] == ["kim_cnn", "other"]
    assert merged["exit_code"] == 1 and not merged["passed"]
    with pytest.raises(UsageError, match="'kim_cnn' is in more than one"):
        merge([passing, passing])


def test_without_timings_drops_only_run_dependent_fields(batch: dict) -> None:
    timed = copy.deepcopy(batch)
    timed["models"][0].update(cached=True, seconds=9.5)
    timed["models"][0]["report"]["timings"]["export"] = 99.0
    assert without_timings(timed) == without_timings(batch)
    kept = without_timings(timed)["models"][0]["report"]
    assert [c["max_abs"] for c in kept["parity"]] == \
        [c["max_abs"] for c in entries(batch)[0]["report"]["parity"]]
    assert "seconds" not in kept["parity"][0] and "timings" not in kept


@pytest.mark.parametrize(("content", "message"), [
    ("{", "not a JSON report"),
    ('{"schema": "other/1"}', "schema 'other/1' is not 'converter.report/1'"),
    ("[1, 2]", "schema None is not"),
])
def test_render_refuses_what_is_not_a_report(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = CliRunner().invoke(main, ["report", "render", str(path), "--format", "md"])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_render_writes_the_file_atomically(tmp_path: Path, batch: dict) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "render", write(tmp_path / "s.json", batch),
                                       "--format", "html", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "s.json"]


def test_convert_refuses_a_report_suffix_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convert", "missing.keras", "--report",
                                       str(tmp_path / "r.pdf"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--report" in result.output and "must end in .html or .md" in result.output
    result = CliRunner().invoke(main, ["convert", "missing.keras", "--junit",
                                       str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "must end in .xml" in result.output
    assert list(tmp_path.iterdir()) == []
