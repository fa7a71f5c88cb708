#!/usr/bin/env python3
"""Run thousands of broken and hostile model inputs through converter's loader.

    .venv/bin/python scripts/fuzz.py [--count 3000] [--seed 1] [--dir /tmp/converter-fuzz]

Each input (tests/hardening/broken_inputs.py) goes through what `converter inspect` does in a
worker process; every one must end refused (exit 3 with a message) or accepted, never in a
traceback, a hang or a crash, and no payload may leave its marker. Prints the outcomes per
kind, the workers' peak memory and every finding; exit 1 when there is one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hardening.broken_inputs import generate  # noqa: E402
from tests.hardening.harness import run_cases  # noqa: E402


def main() -> int:
    """Generate, run, tally."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per input")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/converter-fuzz"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    marker = args.dir / "MARKER"
    start = time.monotonic()
    tally = run_cases(generate(args.seed, args.count, args.dir, marker), args.dir, args.timeout)
    seconds = time.monotonic() - start
    print(f"{len(tally.results)} inputs (seed {args.seed}) in {seconds:.0f} s; "
          f"peak worker memory {tally.peak_mib:.0f} MiB")
    print("outcomes:", dict(sorted(tally.by_outcome().items())))
    for kind, outcomes in sorted(tally.by_kind().items()):
        print(f"  {kind:18} {dict(sorted(outcomes.items()))}")
    for bug in tally.bugs():
        print(f"FINDING {bug.case.kind} #{bug.case.index} {bug.case.path}: {bug.outcome}\n"
              f"{bug.message}")
    ran = marker.exists()
    print("payload marker:", "CREATED (code from a model file ran)" if ran else "absent")
    return 1 if tally.bugs() or ran else 0


if __name__ == "__main__":
    sys.exit(main())
