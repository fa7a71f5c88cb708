"""`converter batch` end to end: worker processes, the cache, shards that merge to the whole.

Two sample models and one broken file; each scenario reuses the first run's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.report.documents import without_timings
from tests.conftest import sample

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[defaults]
to = ["tflite", "onnx"]
runtime = ["tflite-xnnpack", "ort-cpu"]
[[models]]
path = "{kim}"
[[models]]
path = "{ecg}"
precision = ["fp32", "fp16"]
[[models]]
path = "broken.h5"
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    (root / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))  # truncated HDF5
    (root / "batch.toml").write_text(CONFIG.format(kim=sample("kim_cnn.h5"),
                                                   ecg=sample("ecg_classifier.keras")))
    return root


def run(workspace: Path, where: str, *args: str) -> tuple[int, str, dict[str, Any]]:
    """Run the batch from `workspace/where` with `-o out`, as a CI job would in its checkout."""
    cwd = workspace / where
    cwd.mkdir(exist_ok=True)
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["batch", "../batch.toml", "-o", "out", "-q", *args])
    finally:
        os.chdir(before)
    summary = cwd / "out" / "summary.json"
    return result.exit_code, result.output, json.loads(summary.read_text())


@pytest.fixture(scope="module")
def first(workspace: Path) -> tuple[int, str, dict[str, Any]]:
    return run(workspace, "all", "-j", "2", "--junit", "batch.xml", "--report", "batch.html")


def test_batch_writes_each_model_and_a_summary_with_the_worst_exit(
        workspace: Path, first: tuple) -> None:
    code, output, summary = first
    assert code == 3, output  # the broken file: worse than anything that converted
    names = [m["name"] for m in summary["models"]]
    assert names == ["kim_cnn", "ecg_classifier", "broken"]
    kim, ecg, broken = summary["models"]
    assert kim["passed"] and ecg["passed"] and not broken["passed"]
    assert broken["exit_code"] == 3 and broken["report"] is None and "broken.h5" in \
        broken["error"]
    out = workspace / "all" / "out"
    assert sorted(p.name for p in (out / "ecg_classifier").iterdir()) == [
        ".converter-cache-key", "ecg_classifier.fp16.tflite", "ecg_classifier.onnx",
        "ecg_classifier.tflite", "report.json"]
    assert not (out / "broken").exists()  # nothing written for a refused model
    assert json.loads((out / "kim_cnn" / "report.json").read_text()) == kim["report"]
    assert [c["runtime"] for c in kim["report"]["parity"]] == ["tflite-xnnpack", "ort-cpu"]
    assert "NOT CONVERTED (exit 3)" in (workspace / "all" / "batch.html").read_text()
    assert 'name="broken"' in (workspace / "all" / "batch.xml").read_text()


def test_unchanged_models_come_from_the_cache(workspace: Path, first: tuple) -> None:
    out = workspace / "all" / "out"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.tflite")}
    code, _, again = run(workspace, "all", "-j", "2")
    assert code == 3
    assert [m["cached"] for m in again["models"]] == [True, True, False]  # broken: retried
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.tflite")} == stamps
    assert without_timings(again) == without_timings(first[2])


def test_a_changed_option_or_a_deleted_artifact_is_converted_again(
        workspace: Path, first: tuple) -> None:
    out = workspace / "all" / "out"
    (out / "kim_cnn" / "kim_cnn.onnx").unlink()
    config = workspace / "batch.toml"
    original = config.read_text()
    config.write_text(original.replace('precision = ["fp32", "fp16"]', 'precision = ["fp32"]'))
    try:
        _, _, summary = run(workspace, "all", "--no-cache", "--shard", "3/3")
        assert [m["name"] for m in summary["models"]] == ["broken"]  # shard 3/3 of 3 models
        _, _, summary = run(workspace, "all", "-j", "2")
    finally:
        config.write_text(original)
    kim, ecg, _ = summary["models"]
    assert not kim["cached"] and (out / "kim_cnn" / "kim_cnn.onnx").exists()
    assert not ecg["cached"]
    assert [a["precision"] for a in ecg["report"]["artifacts"]] == ["fp32", "fp32"]


def test_merged_shards_equal_the_unsharded_run(workspace: Path, first: tuple) -> None:
    """The shards run as a Kubernetes Indexed Job runs them: separate processes, each told
    its JOB_COMPLETION_INDEX, the count from CONVERTER_SHARD_COUNT, `--shard auto`."""
    parts, codes = [], []
    for index in (0, 1):
        cwd = workspace / f"shard{index}"
        cwd.mkdir(exist_ok=True)
        environment = {**os.environ, "JOB_COMPLETION_INDEX": str(index),
                       "CONVERTER_SHARD_COUNT": "2", "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "converter", "batch", "../batch.toml",
                               "-o", "out", "-q", "--shard", "auto"], cwd=cwd, env=environment,
                              capture_output=True, text=True, timeout=1200)
        codes.append(done.returncode)
        parts.append(cwd / "out" / "summary.json")
    assert codes == [3, 0], codes  # shard 1 of 2 holds the broken file; 2 ecg_classifier
    merged = workspace / "merged.json"
    result = CliRunner().invoke(main, ["report", "merge", *map(str, parts), "-o", str(merged)])
    assert result.exit_code == 3, result.output
    assert without_timings(json.loads(merged.read_text())) == without_timings(first[2])


def test_the_ray_executor_gives_the_local_executors_summary(workspace: Path, first: tuple) -> None:
    """A local Ray cluster started for the batch: one conversion per Ray task."""
    code, _, summary = run(workspace, "ray", "--executor", "ray")
    assert code == first[0] == 3
    # --power auto runs the planted copies only where they cost less than the check, as
    # measured in that run: on a busy machine the two runs may decide otherwise.
    assert differences(without_timings(summary), without_timings(first[2]),
                       ignored=("power",)) == []


def differences(a: Any, b: Any, where: str = "", ignored: tuple[str, ...] = ()) -> list[str]:
    """Where two JSON documents differ (paths), for a readable failure; `ignored` keys aside."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted((set(a) | set(b)) - set(ignored))
                for d in differences(a.get(k), b.get(k), f"{where}/{k}", ignored)]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{where}/{i}", ignored)]
    return [] if a == b else [f"{where}: {str(a)[:80]} != {str(b)[:80]}"]


def test_the_ray_executor_without_ray_is_a_usage_error_with_the_install_line(
        workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "converter", "batch",
                           str(workspace / "batch.toml"), "-o", str(tmp_path / "out"),
                           "--executor", "ray"], env=environment, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Ray is not installed here; pip install 'converter[ray]'" in done.stdout + done.stderr
    assert not (tmp_path / "out").exists()
