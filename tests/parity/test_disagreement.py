"""Runtimes of one file that disagree, and reference evaluators known to mis-evaluate ops.

TensorFlow-free: checks are built by hand, ONNX nodes with onnx.helper.
"""

from __future__ import annotations

import pytest
from onnx import helper

from converter.api import exit_code
from converter.artifacts import ParityCheck
from converter.parity.disagreement import disagreements, settled
from converter.parity.runtimes.onnx_reference import first_misevaluated, misevaluated
from converter.report.view import verdict

ONNX = "m.onnx"
TFLITE = "m.tflite"


def check(runtime: str, status: str, artifact: str = ONNX) -> ParityCheck:
    return ParityCheck(runtime, artifact, status, 1.5 if status == "failed" else 1e-7,  # type: ignore[arg-type]
                       reason="y: max abs 1.5 exceeds atol 1e-05" if status == "failed" else "")


def test_a_lone_default_reference_evaluator_is_disputed_and_does_not_fail_the_run() -> None:
    checks = [check("ort-cpu", "passed"), check("ort-cpu-noopt", "passed"),
              check("onnx-reference", "failed"), check("tflite-xnnpack", "passed", TFLITE)]
    out = settled(checks, named=())
    disputed = out[2]
    assert disputed.status == "disputed"
    assert disputed.reason.startswith(
        "runtimes disagree on m.onnx: onnx-reference differs from the reference, ort-cpu, "
        "ort-cpu-noopt agree with it; onnx-reference is a plain reference evaluator")
    assert "y: max abs 1.5" in disputed.reason
    assert [c.status for c in out] == ["passed", "passed", "disputed", "passed"]
    assert exit_code([c.status for c in out], "ok") == 0
    assert disagreements(checks) == [
        {"artifact": ONNX, "agree": ["ort-cpu", "ort-cpu-noopt"], "differ": ["onnx-reference"]}]


def test_asked_for_by_name_the_reference_evaluator_still_fails_the_run() -> None:
    checks = [check("ort-cpu", "passed"), check("onnx-reference", "failed")]
    out = settled(checks, named=("ort-cpu", "onnx-reference"))
    assert out[1].status == "failed"
    assert out[1].reason.startswith("runtimes disagree on m.onnx: onnx-reference differs")
    assert exit_code([c.status for c in out], "ok") == 1


def test_an_optimised_runtime_alone_wrong_fails_and_says_the_runtimes_disagree() -> None:
    checks = [check("tflite-xnnpack", "failed", TFLITE), check("tflite-builtin", "passed", TFLITE),
              check("tflite-reference", "passed", TFLITE)]
    out = settled(checks, named=())
    assert out[0].status == "failed"
    assert out[0].reason.startswith(
        "runtimes disagree on m.tflite: tflite-xnnpack differs from the reference, "
        "tflite-builtin, tflite-reference agree with it; y: max abs")


@pytest.mark.parametrize("statuses", [("failed", "failed", "failed"),
                                      ("passed", "passed", "passed"),
                                      ("failed", "failed", "skipped")])
def test_a_file_every_runtime_judges_alike_has_no_disagreement(statuses: tuple[str, ...]) -> None:
    checks = [check(r, s) for r, s in zip(("ort-cpu", "ort-cpu-noopt", "onnx-reference"),
                                          statuses, strict=True)]
    assert disagreements(checks) == []
    assert settled(checks, named=()) == tuple(checks)


def test_two_reference_evaluators_against_the_rest_are_not_disputed() -> None:
    """`disputed` is for one evaluator alone; two failing runtimes fail the run."""
    checks = [check("numpy", "failed", "graph"), check("keras-normalized", "passed", "graph"),
              check("onnx-reference", "failed"), check("ort-cpu", "failed"),
              check("ort-cpu-noopt", "passed")]
    out = settled(checks, named=())
    assert [c.status for c in out] == ["disputed", "passed", "failed", "failed", "passed"]
    assert "onnx-reference, ort-cpu differ from the reference" in out[2].reason


def test_the_verdict_line_names_a_disputed_check() -> None:
    checks = settled([check("ort-cpu", "passed"), check("onnx-reference", "failed")], ())
    report = {"passed": True, "exit_code": 0, "reference": {"status": "ok"},
              "parity": [{"runtime": c.runtime, "artifact": c.artifact, "status": c.status}
                         for c in checks]}
    assert verdict({"report": report}) == (
        "PASSED: 1 parity checks passed; runtimes disagree: onnx-reference on m.onnx alone "
        "differs from the reference (disputed, reported without failing); mobile GPU path not "
        "checked (no litert-gpu runtime ran on a .tflite file)")


def lstm(**attributes: object) -> object:
    return helper.make_node("LSTM", ["x", "w", "r", "b"], ["y"], name="lstm", **attributes)


@pytest.mark.parametrize(("node", "says"), [
    (lstm(activations=["Sigmoid", "Relu", "Relu"]),
     "it runs LSTM 'lstm' with Sigmoid/Tanh/Tanh whatever its activations say (Sigmoid, Relu, "
     "Relu here)"),
    (lstm(activations=["HardSigmoid", "Tanh", "Tanh"], activation_alpha=[0.2, 0, 0]),
     "whatever its activations say (HardSigmoid, Tanh, Tanh here)"),
    (lstm(clip=3.0), "it ignores LSTM 'lstm''s clip attribute"),
    (lstm(input_forget=1), "it ignores LSTM 'lstm''s input_forget attribute"),
    (helper.make_node("LSTM", ["x", "w", "r", "b", "lens"], ["y"], name="lstm"),
     "it ignores LSTM 'lstm''s sequence_lens input"),
    (helper.make_node("GRU", ["x", "w", "r"], ["y"], name="gru",
                      activations=["HardSigmoid", "Tanh"]), "it runs GRU 'gru' with Sigmoid/Tanh"),
    (helper.make_node("Loop", ["n", "c"], ["y"], name="loop"), "it mis-shapes the scan outputs"),
])
def test_known_misevaluations_are_named(node: object, says: str) -> None:
    assert says in misevaluated(node)


@pytest.mark.parametrize("node", [
    lstm(), lstm(activations=["Sigmoid", "Tanh", "Tanh"] * 2, direction="bidirectional"),
    lstm(clip=0.0), helper.make_node("GRU", ["x", "w", "r"], ["y"], linear_before_reset=1),
    helper.make_node("RNN", ["x", "w", "r"], ["y"], activations=["Relu"]),
    helper.make_node("LSTM", ["x", "w", "r", "b", ""], ["y"]),
])
def test_what_onnx_reference_evaluates_right_is_not_refused(node: object) -> None:
    assert misevaluated(node) == ""


def test_a_misevaluated_node_inside_a_subgraph_is_found() -> None:
    body = helper.make_graph([lstm(activations=["Sigmoid", "Relu", "Relu"])], "body", [], [])
    outer = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=body,
                                                else_branch=body)], "main", [], [])
    assert "Relu" in first_misevaluated(outer)
