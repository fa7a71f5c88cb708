"""Parity and calibration inputs are arrays, never pickles: a pickle payload never runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, sample


class Payload:
    """Unpickling this would run a command that creates the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("flag", ["--inputs", "--calibration"])
def test_a_pickled_object_array_is_refused_unrun(tmp_path: Path, flag: str) -> None:
    marker = tmp_path / "MARKER"
    payload = np.empty(1, dtype=object)
    payload[0] = Payload(marker)
    evil = tmp_path / "evil.npz"
    np.savez(evil, x=payload)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "converter", "convert", str(sample("kim_cnn.h5")), "-o",
               str(out), "--to", "tflite", "--runtime", "tflite-xnnpack", flag, str(evil)]
    if flag == "--calibration":
        command += ["--precision", "int8"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode in (2, 3), done.stderr[-2000:]
    assert "allow_pickle=False" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists() and not out.exists()
