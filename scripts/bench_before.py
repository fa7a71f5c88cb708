"""bench.py --before CHECKOUT: the files an earlier converter writes, timed beside ours.

CHECKOUT is another checkout of this repository at the commit to compare with, e.g.
`git worktree add ../before <commit>`. Its converter runs in a process of its own (its
package first on sys.path, this .venv's libraries), with the options bench.py gives ours,
and its .tflite and .onnx are timed in the same turns as stock's and ours. The table then
says, per runtime, before / ours (> 1: the current converter's file is faster), or "same
file" where the bytes did not change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import STATIC, Files

# Run by the checkout's interpreter process: converts one model, prints {format: path}.
CONVERT = """
import json, sys
from pathlib import Path
checkout, model, out, static = sys.argv[1:5]
sys.path.insert(0, checkout)
from converter import convert
from converter.options import ConvertOptions
result = convert(Path(model), ConvertOptions(output_dir=Path(out), runtimes=("ort-cpu",),
                                             **json.loads(static)))
print(json.dumps({a.format: str(Path(out) / a.path) for a in result.artifacts}))
"""


def before_files(checkout: Path, name: str, path: Path, workdir: Path) -> Files:
    """The checkout's converter's files for the model (its failure, if it fails, as text)."""
    out = workdir / f"{name.replace(' ', '_')}-before"
    static = {"static_shape": True, "static_length": STATIC[name]} if name in STATIC else {}
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", CONVERT, str(checkout), str(path), str(out), json.dumps(static)],
        cwd=checkout, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Files(None, None, (f"before: exit {done.returncode}: {said[:120]}",))
    paths = json.loads(done.stdout.strip().splitlines()[-1])
    data = {fmt: Path(file).read_bytes() for fmt, file in paths.items()}
    return Files(data.get("tflite"), data.get("onnx"))


def compared(before: dict[str, Any] | None, ours: dict[str, Any], files: tuple[Files, Files],
             fmt: str) -> str:
    """Before / ours latency for one format, "same file" where the bytes are equal."""
    if before is None or fmt not in before:
        return "before failed"
    if getattr(files[0], fmt) == getattr(files[1], fmt):
        return "same file"
    if "seconds" not in before[fmt] or "seconds" not in ours[fmt]:
        return "cannot run"
    return f"{before[fmt]['seconds'] / ours[fmt]['seconds']:.2f}x"
