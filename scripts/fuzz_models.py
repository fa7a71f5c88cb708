#!/usr/bin/env python3
"""Convert seeded random Keras models and check parity and graph invariants on each.

    .venv/bin/python scripts/fuzz_models.py [--count 1000] [--seed 0] [--dir /tmp/converter-models]

Model `seed`, `seed + 1`, ... (tests/integration/random_models.py) each go through load,
normalisation, export and every CPU runtime in this process (tests/integration/model_fuzz.py).
Prints each failure with its seed and the model's config, then a summary line with the
duration; exit 1 when any model failed. A failure replays with `--seed S --count 1`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.model_fuzz import check, describe, summary  # noqa: E402


def main() -> int:
    """Generate, convert, check, tally."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="the first model's seed")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/converter-models"))
    args = parser.parse_args()
    start, outcomes = time.monotonic(), []
    for seed in range(args.seed, args.seed + args.count):
        directory = args.dir / str(seed)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        outcome = check(seed, directory)
        outcomes.append(outcome)
        if outcome.failures:
            print(describe(outcome), flush=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)
        if len(outcomes) % 25 == 0:
            print(f"{len(outcomes)} models, {time.monotonic() - start:.0f} s", flush=True)
    found = summary(outcomes)
    print(f"{found['models']} models (seeds {args.seed}..{args.seed + args.count - 1}), "
          f"{found['checks']} output checks, {len(found['failing_seeds'])} failing "
          f"{found['failing_seeds']} in {time.monotonic() - start:.0f} s")
    return 1 if found["failing_seeds"] else 0


if __name__ == "__main__":
    sys.exit(main())
