"""A few hundred broken and hostile inputs: each ends clean, none runs code, memory bounded.

The same generator and harness run thousands of cases in `scripts/fuzz.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.hardening.broken_inputs import MAKERS, generate
from tests.hardening.harness import Result, Tally, run_cases

SEED, COUNT = 20261126, 300
# The accepted inputs are converted by the CLI, whose task servers import TensorFlow: a
# TensorFlow module, ordered with them (tests/conftest.py), not after the unit modules.
pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Tally, Path, Path]:
    directory = tmp_path_factory.mktemp("fuzz")
    marker = directory / "MARKER"
    tally = run_cases(generate(SEED, COUNT, directory, marker), directory, timeout_s=60)
    return tally, directory, marker


def described(results: list[Result]) -> str:
    return "\n".join(f"{r.case.kind} #{r.case.index} {r.case.path.name}: {r.outcome} "
                     f"{r.message[-400:]}" for r in results)


def test_every_input_ends_refused_or_accepted_never_a_traceback_hang_or_crash(fuzzed) -> None:
    tally, _, _ = fuzzed
    assert len(tally.results) == COUNT
    assert tally.bugs() == [], described(tally.bugs())
    assert set(tally.by_kind()) == set(MAKERS)  # every kind of corruption was tried
    for result in tally.results:
        if result.outcome == "refused":
            assert result.exit == 3 and result.message.strip(), described([result])


@pytest.mark.parametrize("kind", ["empty", "random-bytes", "truncated", "deep-config",
                                  "zip-traversal", "zip-bomb", "non-finite", "absurd-sizes",
                                  "not-a-savedmodel"])
def test_kinds_that_cannot_be_a_model_are_all_refused(fuzzed, kind: str) -> None:
    tally, _, _ = fuzzed
    outcomes = tally.by_kind()[kind]
    if kind == "absurd-sizes":  # a size the model does not use leaves it a valid model
        accepted = [r for r in tally.results if r.case.kind == kind and r.outcome != "refused"]
        assert all(r.exit == 0 for r in accepted) and outcomes["refused"] >= 10
        return
    assert set(outcomes) == {"refused"}, outcomes


def test_nothing_in_a_model_file_ran(fuzzed) -> None:
    tally, directory, marker = fuzzed
    assert (directory / "converter_fuzz_marker.py").exists()  # importable by every worker
    assert tally.by_kind()["code-payload"].total() >= 20
    assert not marker.exists()


def test_memory_stays_bounded(fuzzed) -> None:
    tally, _, _ = fuzzed
    # 512 MiB bombs and 10**12-unit layers were among the inputs; none was inflated or built.
    assert 0 < tally.peak_mib < 1024, tally.peak_mib


def test_the_cli_refuses_each_kind_with_exit_3_and_writes_nothing(fuzzed, tmp_path) -> None:
    tally, directory, marker = fuzzed
    firsts: dict[str, Result] = {}
    for result in tally.results:
        if result.outcome == "refused":
            firsts.setdefault(result.case.kind, result)
    for kind, result in sorted(firsts.items()):
        out = tmp_path / kind / "out"
        command = [sys.executable, "-m", "converter", "convert", str(result.case.path), "-o",
                   str(out)]
        if result.case.arch:
            command += ["--arch", str(result.case.arch)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 3, (kind, done.stdout, done.stderr[-2000:])
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr, kind
        assert not out.parent.exists() or list(out.parent.iterdir()) == [], kind
    assert not marker.exists()


def test_a_file_that_stalls_the_hdf5_library_is_refused_at_the_time_limit(tmp_path) -> None:
    # Found by scripts/fuzz.py (seed 7, input 1516): HDF5 loops forever reading an attribute,
    # holding Python's lock, so only the forked reader's deadline can end it.
    import random
    import time

    from tests.hardening.broken_inputs import flipped

    path, _ = flipped(random.Random("7-1516"), tmp_path, tmp_path / "MARKER")
    out = tmp_path / "out"
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "converter", "convert", str(path), "-o",
                           str(out), "--timeout", "3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and time.monotonic() - start < 60
    assert "reading it took longer than 3 s (--timeout)" in done.stderr
    assert not out.exists()
