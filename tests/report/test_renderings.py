"""HTML, Markdown and JUnit renderings: golden files plus the facts each must carry.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 pytest tests/report/test_renderings.py` and review the diff.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from converter.report.render import render

GOLDEN = Path(__file__).parent / "golden"
NAMES = {"html": "html", "md": "md", "junit": "xml"}


@pytest.mark.parametrize("form", ["html", "md", "junit"])
@pytest.mark.parametrize("which", ["passing", "failing", "batch"])
def test_rendering_matches_its_golden_file(request: pytest.FixtureRequest, which: str,
                                          form: str) -> None:
    document = request.getfixturevalue(which)
    text = render(document, form)
    golden = GOLDEN / f"{which}.{NAMES[form]}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()
    assert render(document, form) == text  # a pure function: same bytes every time


def test_html_is_self_contained_and_verdict_first(failing: dict[str, Any]) -> None:
    page = render(failing, "html")
    assert "<script" not in page.lower() and "@import" not in page and "url(" not in page
    # The only address is the SVG namespace, which is a name, not a request.
    assert set(re.findall(r"https?://[^\"' )]+", page)) == {"http://www.w3.org/2000/svg"}
    assert 'name="viewport"' in page  # sized for phones
    body = page[page.index("<body>"):]
    assert body.index("NOT PASSED (exit 1)") < body.index("<table")
    # error per runtime and precision; op counts; error through depth per file (--per-layer)
    assert page.count("<svg") == 2 + len(failing["per_layer"]) == 5
    for fact in ("tflite-xnnpack", "kim_cnn.fp16.tflite", "0.0421", "crashed: SIGSEGV",
                 "first diverging layer conv1d_1 (Conv1D)", "Delegate coverage", "Provenance",
                 "sample_models/files/kim_cnn.keras"):
        assert fact in page, fact


def test_html_matrix_cells_give_status_and_error(passing: dict[str, Any]) -> None:
    page = render(passing, "html")
    matrix = page[page.index("Parity matrix"):page.index("Error per runtime")]
    headers = re.findall(r"<th>([^<]+)</th>", matrix)
    assert headers == ["runtime", "normalized-graph", "kim_cnn.tflite", "kim_cnn.fp16.tflite",
                       "kim_cnn.onnx"]
    row = re.search(r"<tr><td>tflite-xnnpack</td>(.*?)</tr>", matrix).group(1)
    assert re.findall(r"<td>([^<]*)</td>", row)[0] == ""  # xnnpack does not run the graph
    assert re.findall(r"<td>([^<]*)</td>", row)[1].startswith("passed ")


def test_error_chart_draws_a_bar_and_a_tolerance_tick_per_measured_check(
        failing: dict[str, Any]) -> None:
    page = render(failing, "html")
    chart = page[page.index("<svg"):page.index("</svg>")]
    measured = [c for c in failing["parity"] if c["max_abs"] is not None]
    assert chart.count("<rect") == len(measured)
    assert chart.count('class="bound"') == len(measured)
    assert 'fill="#c62828"' in chart  # the failed check is drawn red


def test_markdown_tables_are_well_formed(batch: dict[str, Any]) -> None:
    text = render(batch, "md")
    assert text.startswith("# Parity report: NOT PASSED (exit 3)")
    for block in re.split(r"\n\n+", text):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len({row.count(" | ") for row in rows}) == 1, block  # same column count
    assert "NOT CONVERTED (exit 3): lambda_1 (Lambda)" in text


def test_junit_has_a_testcase_per_check_with_the_numbers(batch: dict[str, Any]) -> None:
    root = ET.fromstring(render(batch, "junit"))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["kim_cnn", "kim_cnn_fp16", "lambda_model"]
    assert len(suites["kim_cnn"].findall("testcase")) == 11
    failing = suites["kim_cnn_fp16"]
    assert (failing.get("tests"), failing.get("failures"), failing.get("errors"),
            failing.get("skipped")) == ("11", "1", "1", "1")
    failure = failing.find("testcase[@name='tflite-xnnpack x kim_cnn.fp16.tflite']/failure")
    assert "max abs 0.0421 (atol 0.005)" in failure.get("message")
    assert "conv1d_1" in failure.get("message")
    refused = suites["lambda_model"].find("testcase[@name='convert']/error")
    assert refused.get("type") == "exit 3" and "--allow-lambda" in refused.get("message")
    assert root.get("tests") == "23" and root.get("failures") == "1"
    assert root.get("errors") == "2" and root.get("skipped") == "1"


@pytest.mark.parametrize("allowed", [False, True], ids=["failing", "allowed"])
def test_an_inconclusive_check_is_shown_in_every_rendering(passing: dict[str, Any],
                                                           allowed: bool) -> None:
    check = next(c for c in passing["parity"] if c["runtime"] == "ort-cpu")
    check.update(status="inconclusive", reason="classes: the reference carries no information "
                                               "(a saturated softmax)")
    passing.update(passed=allowed, exit_code=0 if allowed else 1)
    junit = ET.fromstring(render(passing, "junit"))
    case = next(c for c in junit.iter("testcase") if c.get("name") == "ort-cpu x kim_cnn.onnx")
    if allowed:
        assert case.find("skipped").get("message").startswith("inconclusive: classes")
    else:
        assert case.find("failure").get("type") == "inconclusive"
    for form in ("html", "md"):
        page = render(passing, form)
        assert "inconclusive" in page and "a saturated softmax" in page
    verdict = "PASSED: 10 parity checks passed, 1 inconclusive (allowed)" if allowed else \
        "NOT PASSED (exit 1): 1 of 11 checks did not pass: ort-cpu on kim_cnn.onnx (inconclusive)"
    assert verdict in render(passing, "md")


def test_power_and_per_layer_parity_are_rendered(passing: dict[str, Any]) -> None:
    page = render(passing, "html")
    assert "Detection power (planted defects)" in page and "4/4" in page
    assert "Error through depth: kim_cnn.onnx" in page
    assert "Per-layer parity of kim_cnn.onnx" in page
    assert "logits max abs" in render(passing, "md")


def test_power_the_check_could_not_afford_is_said_not_hidden(passing: dict[str, Any]) -> None:
    check = next(c for c in passing["parity"] if c["runtime"] == "ort-cpu")
    note = ("not measured by default: its 4 planted copies would take ~9.1 s, more than the "
            "check itself (2.3 s); --power full measures it")
    check["power"] = {"planted": 0, "caught": 0, "defects": [], "smallest_caught": None,
                      "note": note}
    for form in ("html", "md"):
        page = render(passing, form)
        assert "not measured" in page and "--power full measures it" in page


@pytest.mark.parametrize(("gpu", "said"), [
    ([("litert-gpu-fp16", "passed", ""), ("litert-gpu-fp32", "passed", "")],
     "mobile GPU path checked (litert-gpu-fp16, litert-gpu-fp32 on kim_cnn.tflite)"),
    ([("litert-gpu-fp16", "failed", "max abs 0.5")],
     "mobile GPU path checked (litert-gpu-fp16 on kim_cnn.tflite)"),
    ([("litert-gpu-fp16", "skipped", "no Vulkan driver found: run scripts/setup.sh")],
     "mobile GPU path not checked: no Vulkan driver found: run scripts/setup.sh"),
    ([], "mobile GPU path not checked (no litert-gpu runtime ran on a .tflite file)"),
], ids=["checked", "checked-and-failed", "skipped", "not-asked"])
def test_the_verdict_says_whether_the_mobile_gpu_path_was_checked(
        passing: dict[str, Any], gpu: list[tuple[str, str, str]], said: str) -> None:
    from converter.report.view import verdict

    passing["parity"] = [c for c in passing["parity"] if not c["runtime"].startswith(
        "litert-gpu")] + [{"runtime": runtime, "artifact": "kim_cnn.tflite", "status": status,
                           "reason": reason} for runtime, status, reason in gpu]
    assert verdict({"report": passing}).endswith("; " + said)


def test_a_check_that_read_some_rows_says_so_in_its_note() -> None:
    from converter.report.view import note

    assert note({"reason": "", "facts": {"rows": "1 of 4 rows of each case: why"}}) == \
        "1 of 4 rows of each case: why"
    assert note({"reason": "out: max abs 2", "facts": {},
                 "power": {"rows": "the planted copies read 1 of 4 rows"}}) == \
        "out: max abs 2; the planted copies read 1 of 4 rows"
    assert note({"reason": "", "facts": {}, "power": None}) == ""
