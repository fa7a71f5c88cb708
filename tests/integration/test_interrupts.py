"""Interrupted, killed and overrunning conversions leave nothing under a final name.

Each run converts conv_bilstm (long enough to be stopped mid-way) in a real process; the
signal is sent once its staging directory exists, i.e. after building, during export or
verification.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, living_processes, sample

pytestmark = pytest.mark.tf


def start(out: Path, *flags: str) -> subprocess.Popen[str]:
    # Ctrl-C's default action, whatever this test run inherited: a suite started in the
    # background (nohup, `cmd &`) ignores SIGINT, and Python then keeps ignoring it.
    return subprocess.Popen(
        [sys.executable, "-m", "converter", "convert", str(sample("conv_bilstm.keras")), "-o",
         str(out), "-q", *flags], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def staged(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.staging-*"))


def wait_for_staging(process: subprocess.Popen[str], out: Path) -> None:
    deadline = time.monotonic() + 240
    while not staged(out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no staging directory appeared"
        time.sleep(0.05)
    time.sleep(1.0)  # well into export


def digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A finished conversion whose files a later interrupted run must leave alone."""
    out = tmp_path_factory.mktemp("previous") / "out"
    done = start(out, "--to", "onnx", "--runtime", "ort-cpu")
    assert done.wait(timeout=300) == 0, done.communicate()
    return out, digests(out)


@pytest.mark.parametrize(("how", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                             (signal.SIGKILL, -9)])
def test_a_stopped_run_publishes_nothing_and_keeps_the_previous_files(
        previous: tuple[Path, dict[str, str]], how: signal.Signals, status: int) -> None:
    out, before = previous
    process = start(out)  # every default runtime: long enough to interrupt
    wait_for_staging(process, out)
    process.send_signal(how)
    code = process.wait(timeout=120)
    _, stderr = process.communicate()
    assert code == status, (code, stderr[-2000:])
    assert "Traceback" not in stderr
    assert digests(out) == before  # not one file replaced, none added
    if how != signal.SIGKILL:  # a killed process cannot clean up; its staging stays hidden
        assert staged(out) == []


def test_a_stage_over_its_time_limit_ends_with_exit_3_and_no_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = start(out, "--timeout", "0.5")
    code = process.wait(timeout=300)
    _, stderr = process.communicate()
    assert code == 3, stderr[-2000:]
    assert stderr.startswith("error: ") and "took longer than 0.5 s (--timeout)" in stderr
    assert "Traceback" not in stderr
    assert not out.exists() and staged(out) == []


def test_an_output_over_an_input_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "out" / "report.json"  # an --arch file where report.json would go
    model.parent.mkdir()
    arch = sample("kernel_forms.h5")
    weights = tmp_path / "weights.h5"
    subprocess.run([sys.executable, "-c", (
        "import h5py, json, shutil, sys\n"
        "shutil.copy(sys.argv[1], sys.argv[2])\n"
        "with h5py.File(sys.argv[2], 'r+') as f:\n"
        "    open(sys.argv[3], 'w').write(f.attrs['model_config'] if isinstance("
        "f.attrs['model_config'], str) else f.attrs['model_config'].decode())\n"
        "    del f.attrs['model_config']\n"), str(arch), str(weights), str(model)],
        check=True, cwd=ROOT)
    text = model.read_text()
    done = subprocess.run(
        [sys.executable, "-m", "converter", "convert", str(weights), "--arch", str(model),
         "-o", str(model.parent), "--to", "onnx", "--runtime", "ort-cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "writing report.json there would overwrite an input" in done.stderr
    assert model.read_text() == text and sorted(p.name for p in model.parent.iterdir()) == [
        "report.json"]


@pytest.mark.parametrize(("behaviour", "message"), [
    ("os.kill(os.getpid(), signal.SIGSEGV)",
     "the exporter crashed (SIGSEGV) while converting this model; nothing was written"),
    ("time.sleep(600)", "building and exporting took longer than 3 s (--timeout)"),
])
def test_an_exporter_that_crashes_or_hangs_is_a_reported_error(tmp_path: Path, behaviour: str,
                                                              message: str) -> None:
    # sitecustomize runs first in every interpreter on this PYTHONPATH; it sabotages only
    # the export worker, the way a native crash or hang in the TFLite converter would
    # (fresh workers: the export has a command line of its own; tests/process/test_pool.py
    # ends served tasks the same ways).
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal, sys, time\n"
        f"if 'converter.export.worker' in sys.orig_argv:\n    {behaviour}\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "converter", "convert", str(sample("kim_cnn.h5")), "-o",
         str(out), "--timeout", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin",
             "CONVERTER_FRESH_WORKERS": "1"})
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() and staged(out) == []
    # The reference ran beside the export in a fresh interpreter of its own; it ended with
    # the conversion instead of writing on into a folder being removed (CI saw that).
    assert processes_started_with(str(tmp_path)) == []


def processes_started_with(marker: str) -> list[str]:
    """The command lines of living processes whose environment mentions `marker`."""
    found = []
    for pid, (_, line) in living_processes().items():
        try:
            environment = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        if marker in environment:
            found.append(line)
    return found


@pytest.mark.usefixtures("no_task_servers")  # the conversion owns its servers, as the CLI's
def test_a_failed_export_does_not_wait_for_the_reference_running_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import converter.export.isolated as isolated
    from converter import ConvertOptions, convert
    from converter.errors import ExportError

    def refused(*args: object) -> None:
        raise ExportError("the TFLite converter refused the model (planted)")

    # The reference (runtime "keras") hangs; the export fails at once.
    monkeypatch.setenv("CONVERTER_INJECT_FAULT", "keras:hang")
    monkeypatch.setenv("CONVERTER_TEST_MARK", str(tmp_path))  # in its servers' environment
    monkeypatch.setattr(isolated, "export_target", refused)
    options = ConvertOptions(output_dir=tmp_path / "out", timeout_s=600)
    began = time.monotonic()
    with pytest.raises(ExportError, match="planted"):
        convert(sample("kim_cnn.h5"), options)
    # Waiting for the hung reference would take its whole time limit; closing the servers
    # killed it instead, and no fresh interpreter took its place.
    assert time.monotonic() - began < options.timeout_s
    assert [c for c in descendants() if "converter.process.child" in c] == []
    # Nor did a forked child outlive its server (it is no descendant once orphaned): the
    # servers' own processes end at once, the hung child would sleep on for an hour.
    deadline = time.monotonic() + 120
    while processes_started_with(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_started_with(str(tmp_path)) == []
    assert not (tmp_path / "out").exists() and staged(tmp_path / "out") == []



def descendants() -> list[str]:
    """The command lines of this process's living descendants."""
    processes = living_processes()
    found, frontier = [], [os.getpid()]
    while frontier:
        frontier = [pid for pid, (parent, _) in processes.items() if parent in frontier]
        found += [processes[pid][1] for pid in frontier]
    return found
