#!/usr/bin/env python3
"""Snapshot what converter writes for every sample model, to prove a refactor changes nothing.

    .venv/bin/python scripts/output_snapshot.py save before.json   # on the old tree
    .venv/bin/python scripts/output_snapshot.py save after.json    # on the new tree
    .venv/bin/python scripts/output_snapshot.py compare before.json after.json

`save` converts every file in sample_models/files with the default options, plus a few
option variants that exercise the option passes (static shape, precisions, channels_last
I/O, the native ONNX lowering), and records each report.json without its timings and each
artifact's sha256. `compare` lists every difference and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models" / "files"
# (file, name of the variant, options beyond the defaults)
VARIANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("tcn.keras", "static", {"static_shape": True, "static_length": 64,
                             "runtimes": ("tflite-xnnpack", "ort-cpu")}),
    ("ecg_classifier.keras", "precisions", {"precision": ("fp32", "fp16", "int8-dynamic",
                                                          "int8"),
                                            "runtimes": ("tflite-xnnpack", "ort-cpu")}),
    ("channels_first.h5", "io-channels-last", {"io_layout": "channels_last",
                                               "runtimes": ("tflite-xnnpack", "ort-cpu")}),
    ("wavenet_block.keras", "native", {"onnx_lowering": "native", "to": ("onnx",),
                                       "runtimes": ("ort-cpu",)}),
)
def snapshot_one(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The report (timings aside) of one conversion, or the error it raised."""
    import converter
    from converter.report.documents import without_timings

    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        out = Path(tmp) / "out"
        try:
            result = converter.convert(path, converter.ConvertOptions(output_dir=out, **options))
        except converter.ConverterError as exc:
            return {"error": str(exc), "exit_code": exc.exit_code}
        report = without_timings(dict(result.report))
        report["options"].pop("output_dir", None)
        return report


def save(target: Path) -> int:
    """Convert every sample and variant; write the snapshot."""
    runs: dict[str, Any] = {}
    jobs = [(p.name, "default", {}) for p in sorted(SAMPLES.iterdir())
            if p.suffix in (".keras", ".h5")] + list(VARIANTS)
    for name, variant, options in jobs:
        key = f"{name} [{variant}]"
        print(f"snapshot: {key}", file=sys.stderr, flush=True)
        runs[key] = snapshot_one(SAMPLES / name, options)
    # Paths under the checkout read the same from any clone or worktree.
    text = json.dumps(runs, indent=1, sort_keys=True).replace(str(ROOT), "<root>")
    target.write_text(text + "\n")
    return 0


def differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Every path at which two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                found.append(f"{where}/{key}: only in {'new' if key in new else 'old'}")
            else:
                found += differences(old[key], new[key], f"{where}/{key}")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in differences(a, b, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {json.dumps(old)[:200]} -> {json.dumps(new)[:200]}"]


def compare(old_path: Path, new_path: Path) -> int:
    """Print the differences between two snapshots; 1 when there are any."""
    found = differences(json.loads(old_path.read_text()), json.loads(new_path.read_text()))
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)")
    return 1 if found else 0


def main() -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("target", type=Path)
    both = commands.add_parser("compare")
    both.add_argument("old", type=Path)
    both.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        return save(args.target)
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
