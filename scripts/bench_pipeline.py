#!/usr/bin/env python
"""The pipeline table: converter's whole command against the stock script, same run.

Usage: bench_pipeline.py [--models NAME ...] [--out pipeline.md] [--rounds 2]
       (or bench.py --table pipeline ...)

For each model, three command lines are timed wall-clock from start to exit, in turns
(round-robin, `--rounds` times; each one's fastest round is its figure, so a busy moment
favours none of them):
- stock: scripts/stock_pipeline.py, the script a user writes instead (load with the Keras
  that wrote the model, TFLiteConverter, tf2onnx, LiteRT XNNPACK and onnxruntime on one
  batch against Keras), in one process;
- ours, same checks: `converter convert MODEL --runtime tflite-xnnpack --runtime ort-cpu`;
- ours, default matrix: `converter convert MODEL` (every runtime that can run here).
Reported as ratios to stock (goals: <= 1.2x with the same checks, <= 1.6x with the default
matrix), with how many checks each of ours passed. Models: the Keras 3 samples, plus
SpliceAI from ../shared/real_models when it is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, SAMPLES, SPLICEAI, arguments, publish

PYTHON = sys.executable
# Stock input length per model where the default (97) is too short for it (SpliceAI crops
# 5,000 steps at each end).
STOCK_LENGTHS = {"spliceai": 10097}
SAME_CHECKS = ("--runtime", "tflite-xnnpack", "--runtime", "ort-cpu")


def model_paths(names: list[str] | None) -> dict[str, Path]:
    """The pipeline models by row name."""
    paths = {p.stem: p for p in sorted(SAMPLES.glob("*.keras"))}
    if SPLICEAI.exists():
        paths["spliceai"] = SPLICEAI
    return {k: v for k, v in paths.items() if not names or k in names}


def commands(name: str, path: Path, out: Path) -> dict[str, list[str]]:
    """The three command lines of one model."""
    converter = [PYTHON, "-m", "converter", "convert", str(path), "-q", "-o"]
    return {
        "stock": [PYTHON, str(ROOT / "scripts" / "stock_pipeline.py"), str(path), "--length",
                  str(STOCK_LENGTHS.get(name, 97))],
        "same": [*converter, str(out / "same" / "files"), *SAME_CHECKS],
        "default": [*converter, str(out / "default" / "files")],
    }


def timed(command: list[str], out: Path) -> tuple[float, int, str]:
    """Wall seconds, exit status and what it said (the checks passed, or the error)."""
    subprocess.run(["rm", "-rf", str(out / "files")], check=True)  # fresh each run
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - began
    return seconds, done.returncode, said(done, out)


def said(done: subprocess.CompletedProcess[str], out: Path) -> str:
    """A run's result in a few words."""
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.args[1].endswith("stock_pipeline.py"):
        return lines[-1] if lines else done.stderr.strip().splitlines()[-1][:80]
    report = out / "files" / "report.json"
    if not report.exists():
        return (done.stderr.strip().splitlines() or ["no report"])[-1][:80]
    checks = json.loads(report.read_text())["parity"]
    passed = sum(c["status"] == "passed" for c in checks)
    return f"{passed}/{len(checks)} checks passed"


def measure(name: str, path: Path, rounds: int, work: Path) -> dict[str, tuple[float, int, str]]:
    """Each command's fastest round."""
    lines = commands(name, path, work)
    best: dict[str, tuple[float, int, str]] = {}
    for _ in range(rounds):
        for key, command in lines.items():
            place = work / key
            place.mkdir(exist_ok=True)
            found = timed(command, place)
            if key not in best or found[0] < best[key][0]:
                best[key] = found
    return best


def table(rows: dict[str, dict[str, tuple[float, int, str]]]) -> str:
    """The Markdown table."""
    lines = ["| model | stock script | ours, same two checks | ratio | ours, default matrix "
             "| ratio | default matrix result |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, row in rows.items():
        stock, same, default = row["stock"][0], row["same"][0], row["default"][0]
        lines.append(f"| {name} | {stock:.1f} s | {same:.1f} s (exit {row['same'][1]}) | "
                     f"{same / stock:.2f}x | {default:.1f} s (exit {row['default'][1]}) | "
                     f"{default / stock:.2f}x | {row['default'][2]} |")
    worst_same = max(r["same"][0] / r["stock"][0] for r in rows.values())
    worst_default = max(r["default"][0] / r["stock"][0] for r in rows.values())
    lines.append(f"\nWorst ratio: {worst_same:.2f}x with the same checks (goal <= 1.2x), "
                 f"{worst_default:.2f}x with the default matrix (goal <= 1.6x).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Time every requested model and print the table."""
    args = arguments(__doc__.splitlines()[0], argv)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="converter-pipeline-") as tmp:
        for name, path in model_paths(args.models).items():
            work = Path(tmp) / name
            work.mkdir()
            rows[name] = measure(name, path, args.rounds, work)
            print(f"pipeline: {name} done", file=sys.stderr, flush=True)
    return publish(table(rows), args.out)


if __name__ == "__main__":
    sys.exit(main())
