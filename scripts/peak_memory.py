#!/usr/bin/env python3
"""Peak memory of converting one model: converter against the stock converters, same run.

    .venv/bin/python scripts/peak_memory.py [MODEL]   (default: SpliceAI from the corpus)

Each side runs in a fresh interpreter and reports its peak resident memory (VmHWM): stock
is tf.lite.TFLiteConverter.from_keras_model plus tf2onnx.convert.from_keras on the model
loaded with tf_keras, in one process; converter is `converter.convert` with the
tflite-xnnpack and ort-cpu parity checks, whose build + export and each runtime run in
worker processes: the converting process and the largest worker are given apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLICEAI = ROOT.parent / "shared" / "real_models" / "spliceai__spliceai1.h5"

PEAK = """
import json, resource
def children_mib():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
def peak_mib():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
"""
STOCK = PEAK + """
import sys
sys.path.insert(0, {root!r} + '/scripts')
from bench import keras_model, stock_files
files = stock_files(keras_model({model!r}))
print(json.dumps({{"peak_mib": peak_mib(), "failures": list(files.failures)}}))
"""
OURS = PEAK + """
from converter import convert
from converter.options import ConvertOptions
result = convert({model!r}, ConvertOptions(output_dir={out!r},
                 runtimes=("tflite-xnnpack", "ort-cpu")))
print(json.dumps({{"peak_mib": peak_mib(), "workers_mib": children_mib(),
                   "passed": result.passed}}))
"""


def measure(code: str) -> dict[str, object]:
    """Run `code` in a fresh interpreter and read its JSON line."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3",
                                                      "PATH": "/usr/bin:/bin",
                                                      "PYTHONPATH": str(ROOT)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    """Measure both sides and print the figures and their ratio."""
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else SPLICEAI
    stock = measure(STOCK.format(root=str(ROOT), model=str(model)))
    with tempfile.TemporaryDirectory() as out:
        ours = measure(OURS.format(model=str(model), out=out))
    print(f"model: {model.name}")
    print(f"stock TFLiteConverter + tf2onnx: peak {stock['peak_mib']:.0f} MiB "
          f"{'(failures: ' + '; '.join(stock['failures']) + ')' if stock['failures'] else ''}")
    largest = max(ours["peak_mib"], ours["workers_mib"])
    print(f"converter (load, export both, verify): converting process {ours['peak_mib']:.0f} "
          f"MiB; largest worker (build + export, or a runtime's check) "
          f"{ours['workers_mib']:.0f} MiB; parity passed: {ours['passed']}")
    print(f"ratio converter / stock, largest single process: {largest / stock['peak_mib']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
