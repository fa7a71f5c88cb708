"""The CLI's exit codes and messages, the API on a live model, and sample regeneration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.artifacts import Tolerance
from converter.cli import main
from converter.options import GPU_RUNTIMES
from converter.parity import tolerances
from tests.conftest import ROOT, gpu_here, sample

pytestmark = pytest.mark.tf


def test_cli_convert_writes_artifacts_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(sample("text_conv1d.h5")), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "tflite-xnnpack" in result.output
    assert f"wrote {out / 'text_conv1d.tflite'}" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json", "text_conv1d.onnx", "text_conv1d.tflite",
    ]


def test_cli_parity_failure_exits_one(tmp_path: Path, monkeypatch) -> None:
    # A zero tolerance cannot be met by onnxruntime's reordered fp32 sums on this model.
    monkeypatch.setitem(tolerances.TOLERANCES, ("ort-cpu", "fp32"), Tolerance(0.0, 0.0, "test"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["convert", str(sample("ecg_classifier.keras")), "-o", str(out), "--seed", "3"]
    )
    assert result.exit_code == 1, result.output
    assert "NOT PASSED" in result.output and "failed" in result.output
    assert (out / "report.json").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.keras", "missing.keras: no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: (d / "t.h5").write_text("hello") and d / "t.h5", "found text starting with"),
    ],
    ids=["missing", "directory", "text-h5"],
)
def test_cli_bad_input_exit_3_one_line_nothing_written(tmp_path: Path, make, message) -> None:
    src = tmp_path / "src"
    src.mkdir()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(make(src)), "-o", str(out)])
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_cli_unsupported_model_exit_3_names_the_cause(tmp_path: Path) -> None:
    # An exporter refusal, planted in the export worker (channels_first, the old example,
    # now converts): sitecustomize runs first in every interpreter on this PYTHONPATH, and
    # where converter.export.write gets imported (the CLI's own TensorFlow task server,
    # whose forks export) its TFLite step refuses.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import importlib.abc, importlib.util, sys\n"
        "class Plant(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name != 'converter.export.write':\n"
        "            return None\n"
        "        sys.meta_path.remove(self)\n"
        "        spec = importlib.util.find_spec(name)\n"
        "        run = spec.loader.exec_module\n"
        "        def exec_module(module):\n"
        "            run(module)\n"
        "            from converter.errors import ExportError\n"
        "            def refuse(*args, **kwargs):\n"
        "                raise ExportError(\"the TFLite converter refused the model: 'tf.Foo' "
        "op is not builtin\")\n"
        "            module.to_tflite = refuse\n"
        "        spec.loader.exec_module = exec_module\n"
        "        return spec\n"
        "sys.meta_path.insert(0, Plant())\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "converter", "convert", str(sample("text_conv1d.keras")), "-o",
         str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 3, done.stderr[-2000:]
    assert "the TFLite converter refused the model: 'tf.Foo' op" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_api_converts_a_live_keras_model(tmp_path: Path) -> None:
    import keras

    from converter import ConvertOptions, convert

    x = keras.Input((12, 2), name="signal")
    y = keras.layers.Conv1D(3, 5, padding="causal", name="conv")(x)
    model = keras.Model(x, keras.layers.GlobalAveragePooling1D(name="gap")(y), name="live")
    result = convert(model, ConvertOptions(output_dir=tmp_path / "out"))
    assert result.passed and result.exit_code == 0
    assert result.provenance.path == "<in-memory keras.Model live>"
    assert [a.path for a in result.artifacts] == ["live.tflite", "live.onnx"]
    # The default matrix: 8 CPU checks and the mobile GPU path's two (skipped without Vulkan).
    gpu = "passed" if gpu_here() else "skipped"
    assert [(c.runtime, c.status) for c in result.parity if c.runtime in GPU_RUNTIMES] == [
        ("litert-gpu-fp16", gpu), ("litert-gpu-fp32", gpu)]
    assert len(result.parity) == 10 and all(c.status == "passed" for c in result.parity
                                            if c.runtime not in GPU_RUNTIMES)


def test_samples_regenerate_bit_for_bit(tmp_path: Path) -> None:
    names = ["text_conv1d", "kernel_forms", "channels_first"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_samples.py"), "--out", str(tmp_path),
         "--only", *names],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in names:
        for ext in ("keras", "h5"):
            assert (tmp_path / f"{name}.{ext}").read_bytes() == sample(f"{name}.{ext}").read_bytes()


def test_progress_is_drawn_on_a_terminal_and_the_json_stays_clean(tmp_path) -> None:
    import os
    import pty

    command = [sys.executable, "-m", "converter", "convert", str(sample("kim_cnn.h5")), "--to",
               "onnx", "--runtime", "ort-cpu", "-o", str(tmp_path / "out")]
    leader, follower = pty.openpty()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    # Read the terminal while the child runs: its spinner frames would fill the pty's
    # buffer and block the child's writes if nobody read until it exited.
    screen = read_terminal(leader, child)
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))
    assert child.returncode == 0
    for line in ("load: done", "export: done", "ort-cpu on kim_cnn.onnx: ran", "verify: done"):
        assert line in text, text[-3000:]
    quiet = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["passed"] is True


def read_terminal(leader: int, child: subprocess.Popen, silence_s: float = 300.0) -> bytes:
    """Everything written to the pty until the child closes it; bounded by progress.

    The child is killed only after `silence_s` without a byte, not after a total time.
    """
    import os
    import select

    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], silence_s)
        if not ready:
            child.kill()
            raise AssertionError(f"no terminal output for {silence_s:g} s: {screen[-2000:]!r}")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        screen += chunk
    child.wait()
    return screen
