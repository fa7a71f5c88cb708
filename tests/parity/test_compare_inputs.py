"""Comparison evidence, synthetic inputs, verdicts and exit codes (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter.api import exit_code
from converter.artifacts import Artifact, InputSpec, Tolerance
from converter.errors import UsageError
from converter.parity.judge import expected_from, judge
from converter.parity.compare import compare_output
from converter.parity.inputs import load_cases, synthetic_cases
from converter.parity.runner import WorkerOutcome
from converter.parity.tolerances import TOLERANCES, tolerance_for

TOL = Tolerance(1e-4, 1e-4, "test")


def test_identical_outputs_pass_with_zero_error() -> None:
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    result = compare_output("y", [x], [x], TOL)
    assert result.passed and result.max_abs == 0.0 and result.cosine == pytest.approx(1.0)
    assert result.top1_agreement == 1.0


def test_small_error_is_measured_exactly() -> None:
    expected = np.array([[1.0, 2.0], [4.0, -8.0]], np.float32)
    actual = expected + np.array([[0.0, 5e-5], [0.0, -2e-3]], np.float32)
    result = compare_output("y", [actual], [expected], TOL)
    assert not result.passed
    assert result.max_abs == pytest.approx(2e-3, rel=1e-3)
    assert result.max_rel == pytest.approx(2e-3 / 8, rel=1e-3)
    assert result.required_atol == pytest.approx(2e-3, rel=1e-3)
    # (2e-3 - 1e-4) / 8: the rtol that would pass with the configured atol
    assert result.required_rtol == pytest.approx(1.9e-3 / 8, rel=1e-3)


def test_nan_always_fails_even_against_nan() -> None:
    x = np.array([[np.nan, 1.0]], np.float32)
    result = compare_output("y", [x], [x.copy()], TOL)
    assert not result.passed
    assert result.note == "non-finite values: 1 in output, 1 in reference"


def test_shape_mismatch_fails_with_both_shapes() -> None:
    result = compare_output("y", [np.zeros((2, 3))], [np.zeros((2, 4))], TOL)
    assert not result.passed and result.note == "shape [2, 3] differs from the reference's [2, 4]"


def test_top1_agreement_counts_flipped_rows() -> None:
    expected = np.array([[0.6, 0.4], [0.2, 0.8]], np.float32)
    actual = np.array([[0.4, 0.6], [0.2, 0.8]], np.float32)
    assert compare_output("p", [actual], [expected], TOL).top1_agreement == 0.5


def test_synthetic_inputs_are_seeded_and_follow_the_spec() -> None:
    specs = (InputSpec("tokens", (None, 24), "int32", (0, 60)),
             InputSpec("series", (None, None, 3), "float32"))
    first = synthetic_cases(specs, 0, 2, (32, 97))
    again = synthetic_cases(specs, 0, 2, (32, 97))
    assert [c["series"].shape for c in first] == [(2, 32, 3), (2, 97, 3)]
    assert first[0]["tokens"].dtype == np.int32
    assert first[0]["tokens"].min() >= 0 and first[0]["tokens"].max() < 60
    assert np.abs(first[1]["series"]).max() <= 2.0
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a["series"], b["series"])
    other = synthetic_cases(specs, 1, 2, (32, 97))
    assert not np.array_equal(other[0]["series"], first[0]["series"])


def test_static_models_get_one_case() -> None:
    cases = synthetic_cases((InputSpec("x", (None, 6, 8), "float32"),), 0, 2, (32, 97))
    assert len(cases) == 1 and cases[0]["x"].shape == (2, 6, 8)


def test_user_inputs_by_name_and_position(tmp_path: Path) -> None:
    specs = (InputSpec("signal", (None, 64, 2), "float32"), InputSpec("meta", (None, 4), "float32"))
    path = tmp_path / "in.npz"
    np.savez(path, x0=np.ones((3, 64, 2)), meta=np.zeros((3, 4)))
    (case,) = load_cases(path, specs)
    assert case["signal"].shape == (3, 64, 2) and case["signal"].dtype == np.float32
    np.savez(path, x0=np.ones((3, 64, 2)))
    with pytest.raises(UsageError, match=r"no array for input 'meta' \(tried \['meta', 'x1'\]\)"):
        load_cases(path, specs)
    np.savez(path, x=np.ones((3, 60, 2)))
    with pytest.raises(UsageError, match=r"x has shape \[3, 60, 2\], input signal expects"):
        load_cases(path, specs[:1])


def artifact() -> Artifact:
    return Artifact("m.onnx", "onnx", "fp32", 1, "0" * 64, {}, ("x",), ("b", "a"))


def judged(outcome: WorkerOutcome, reference: WorkerOutcome):
    """The ort-cpu check of an outcome against a reference with outputs a, b."""
    expected = expected_from(reference, ("a", "b"), {})
    return judge("ort-cpu", artifact(), outcome, reference, expected, {}, "keras")


def test_judge_matches_outputs_by_name_not_position() -> None:
    ref = WorkerOutcome("ok", outputs=[[np.arange(3.0), np.arange(2.0)]])  # graph order a, b
    out = WorkerOutcome("ok", outputs=[[np.arange(2.0), np.arange(3.0)]])  # artifact: b, a
    check = judged(out, ref)
    assert check.status == "passed" and check.max_abs == 0.0
    swapped = WorkerOutcome("ok", outputs=[[np.arange(3.0), np.arange(2.0)]])
    assert judged(swapped, ref).status == "failed"


def test_judge_reports_crash_and_missing_reference() -> None:
    ref = WorkerOutcome("ok", outputs=[[np.ones(3), np.zeros(2)]])
    crashed = judged(WorkerOutcome("crashed", "crashed: SIGSEGV"), ref)
    assert crashed.status == "crashed" and crashed.reason == "crashed: SIGSEGV"
    out = WorkerOutcome("ok", outputs=[[np.zeros(2), np.ones(3)]])
    no_ref = judged(out, WorkerOutcome("crashed", "boom"))
    assert no_ref.status == "skipped" and "reference (keras) did not run: boom" in no_ref.reason


@pytest.mark.parametrize(
    ("statuses", "reference", "code"),
    [
        (["passed", "passed"], "ok", 0),
        (["passed", "failed"], "ok", 1),
        (["passed", "crashed"], "ok", 1),
        (["timeout"], "ok", 1),
        (["passed", "skipped"], "ok", 4),
        (["skipped"], "crashed", 1),
        (["skipped"], "skipped", 4),
        (["passed", "inconclusive"], "ok", 1),
    ],
)
def test_exit_code_is_zero_only_when_everything_passed(statuses, reference, code) -> None:
    assert exit_code(statuses, reference) == code


def test_an_inconclusive_check_passes_only_when_allowed() -> None:
    assert exit_code(["passed", "inconclusive"], "ok", allow_inconclusive=True) == 0
    assert exit_code(["inconclusive", "failed"], "ok", allow_inconclusive=True) == 1


def test_every_tolerance_is_justified_and_lookups_name_known_pairs() -> None:
    assert all(t.why and t.atol > 0 for t in TOLERANCES.values())
    with pytest.raises(UsageError, match=r"no tolerance for ort-cpu/int8; known: "):
        tolerance_for("ort-cpu", "int8")


def test_a_scaled_tolerance_measures_against_the_output_range() -> None:
    quantised = Tolerance(1e-1, 0.0, "int8", scaled=True)
    expected = [np.array([[0.0, 4.0]])]
    inside = compare_output("y", [np.array([[0.39, 4.0]])], expected, quantised)
    outside = compare_output("y", [np.array([[0.41, 4.0]])], expected, quantised)
    assert inside.passed and not outside.passed
    assert tolerance_for("tflite-xnnpack", "int8").scaled
    assert not tolerance_for("tflite-xnnpack", "fp32").scaled
