"""Run generated cases through probe workers: every case ends refused, accepted, or a finding.

A worker applies the CLI's stage time limit (`--timeout`): a case that outlives it ends the
worker with status 3 ("time-limit", the clean exit 3 `converter` gives). A worker that does
not answer at all within the harness's own limit is killed ("hang"); one that dies otherwise
is a "crash"; an exception other than ConverterError is a "traceback". Those three are bugs.
Workers run with the fuzz directory on PYTHONPATH, so a loader that imported a module named
in a model file would create the marker.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from converter.errors import EXIT_MODEL_ERROR
from tests.conftest import ROOT
from tests.hardening.broken_inputs import Case

BUGS = ("traceback", "hang", "crash")


@dataclass(frozen=True)
class Result:
    """How one case ended."""

    case: Case
    outcome: str
    exit: int
    message: str


@dataclass
class Tally:
    """All results, with the workers' peak memory."""

    results: list[Result] = field(default_factory=list)
    peak_mib: float = 0.0

    def by_outcome(self) -> Counter[str]:
        """Cases per outcome."""
        return Counter(r.outcome for r in self.results)

    def by_kind(self) -> dict[str, Counter[str]]:
        """Outcomes per kind of corruption."""
        kinds: dict[str, Counter[str]] = {}
        for r in self.results:
            kinds.setdefault(r.case.kind, Counter())[r.outcome] += 1
        return kinds

    def bugs(self) -> list[Result]:
        """The results that are findings."""
        return [r for r in self.results if r.outcome in BUGS]


class Worker:
    """One probe process; restarted after a hang or crash."""

    def __init__(self, directory: Path, stage_limit_s: float) -> None:
        self.stage_limit_s = stage_limit_s
        self.env = {**os.environ, "PYTHONPATH": f"{directory}{os.pathsep}{ROOT}",
                    "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.process: subprocess.Popen[str] | None = None
        self.peak_mib = 0.0

    def start(self) -> subprocess.Popen[str]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.hardening.probe", str(self.stage_limit_s)],
                cwd=ROOT, env=self.env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, bufsize=1)
        return self.process

    def run(self, case: Case, timeout_s: float) -> Result:
        process = self.start()
        assert process.stdin is not None and process.stdout is not None
        request = {"path": str(case.path), "arch": str(case.arch) if case.arch else None}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([process.stdout], [], [], timeout_s)
        line = process.stdout.readline() if ready else None
        if line:
            found = json.loads(line)
            return Result(case, found["outcome"], found["exit"], found["message"])
        if line is None:
            process.kill()
            process.wait()
            return Result(case, "hang", -1, f"no answer within {timeout_s:g} s")
        code = process.wait()
        if code == EXIT_MODEL_ERROR:
            return Result(case, "time-limit", code, f"the load stage took longer than "
                          f"{self.stage_limit_s:g} s: exit 3, as converter --timeout ends it")
        return Result(case, "crash", code, f"the worker died with status {code}")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.close()
            last = self.process.stdout.read().strip().splitlines()
            self.process.wait()
            if last:
                self.peak_mib = max(self.peak_mib, json.loads(last[-1])["peak_mib"])


def run_cases(cases: Iterable[Case], directory: Path, timeout_s: float = 60.0) -> Tally:
    """Every case through one worker (restarted where needed), in order.

    The stage limit is a third of `timeout_s`; a worker silent for `timeout_s` is a hang.
    """
    worker, tally = Worker(directory, timeout_s / 3), Tally()
    try:
        for case in cases:
            tally.results.append(worker.run(case, timeout_s))
    finally:
        worker.close()
    tally.peak_mib = worker.peak_mib
    return tally
