"""Progress on a terminal, none elsewhere (no TensorFlow)."""

from __future__ import annotations

import io

from rich.console import Console

from converter.report.progress import Silent, Spinners, listener_for


def test_spinners_tick_off_each_stage_with_its_outcome() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with Spinners(console) as spinners:
        spinners.begin("load")
        spinners.end("load")
        spinners.begin("tflite-xnnpack on m.tflite")
        spinners.end("tflite-xnnpack on m.tflite", "crashed")
        spinners.end("never begun", "failed")  # ignored, not an error
    text = screen.getvalue()
    assert "load: done" in text and "tflite-xnnpack on m.tflite: crashed" in text
    assert "never begun" not in text


def test_nothing_animated_when_quiet_json_or_not_a_terminal() -> None:
    # Under pytest stderr is not a terminal: silent even when nobody asked for quiet.
    assert isinstance(listener_for(quiet=False, as_json=False), Silent)
    assert isinstance(listener_for(quiet=True, as_json=False), Silent)
    assert isinstance(listener_for(quiet=False, as_json=True), Silent)
