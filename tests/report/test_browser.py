"""The HTML report in a real browser (headless Chromium), at a phone's width.

A probe page holds the report in a 390 px wide frame and measures it with the browser's own
layout: the verdict is the first thing on the page, nothing scrolls sideways, every chart
(errors, op counts, each file's error through depth) is drawn and fits the screen.
scripts/test.sh installs Debian's chromium when run as root.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from converter.report.render import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(scripts/test.sh installs Debian's chromium as root)")
PHONE = 390
PROBE = """<!DOCTYPE html><html><body>
<iframe id="f" src="report.html" style="width:%dpx;height:844px;border:0"></iframe>
<script>
document.getElementById('f').onload = () => {
  const d = document.getElementById('f').contentDocument;
  const v = d.getElementById('verdict');
  document.body.setAttribute('data-probe', JSON.stringify({
    verdictTop: v.getBoundingClientRect().top, verdict: v.textContent,
    firstTable: d.querySelector('table').getBoundingClientRect().top,
    pageWidth: d.documentElement.scrollWidth, viewport: d.documentElement.clientWidth,
    charts: [...d.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width),
    bars: d.querySelectorAll('svg.chart rect').length, scripts: d.scripts.length}));
};
</script></body></html>
""" % PHONE


def chromium(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files", *args],
        capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def probe(tmp_path: Path, document: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "report.html").write_text(render(document, "html"))
    (tmp_path / "probe.html").write_text(PROBE)
    dom = chromium(tmp_path, "--dump-dom", (tmp_path / "probe.html").as_uri())
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def test_the_verdict_comes_first_and_the_page_fits_a_phone(tmp_path: Path,
                                                          batch: dict[str, Any]) -> None:
    seen = probe(tmp_path, batch)
    assert seen["verdict"] == "NOT PASSED (exit 3)"
    assert seen["verdictTop"] < seen["firstTable"] and seen["verdictTop"] < 200
    assert seen["pageWidth"] <= seen["viewport"] <= PHONE  # wide tables scroll in their box
    assert seen["scripts"] == 0


def test_every_chart_is_drawn_within_the_screen(tmp_path: Path,
                                                 failing: dict[str, Any]) -> None:
    seen = probe(tmp_path, failing)
    depth = [found["layers"] for found in failing["per_layer"].values() if found["layers"]]
    assert depth and len(seen["charts"]) == 2 + len(depth)  # + error through depth per file
    assert all(0 < width <= seen["viewport"] for width in seen["charts"])
    measured = sum(c["max_abs"] is not None for c in failing["parity"])
    artifacts = len(failing["artifacts"])
    onnx_before = sum(bool(a["op_counts_before"]) for a in failing["artifacts"])
    layers = sum(x["max_abs"] is not None for found in depth for x in found)
    # Error bars; ops after/before; one bar per layer through depth.
    assert seen["bars"] == measured + artifacts + onnx_before + layers


def test_a_phone_screenshot_is_rendered(tmp_path: Path, passing: dict[str, Any]) -> None:
    (tmp_path / "report.html").write_text(render(passing, "html"))
    shot = tmp_path / "phone.png"
    chromium(tmp_path, f"--window-size={PHONE},1600", f"--screenshot={shot}",
             (tmp_path / "report.html").as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == PHONE and len(data) > 20_000
