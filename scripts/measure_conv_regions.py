#!/usr/bin/env python3
"""Is a TFLite conv region kept 4-D faster, or more of it on the GPU accelerator?

    .venv/bin/python scripts/measure_conv_regions.py [--length 2000] [--channels 32]

The same residual chain of 8 dilated causal convs (k=3, dilations 1-8, Relu, Add) written
two ways: 3-D between convs, as a Keras model exports (EXPAND_DIMS -> CONV_2D -> SQUEEZE per
conv, the Relu and Add on (N, W, C)), and 4-D throughout, (N, 1, W, C), with one
EXPAND_DIMS in and one SQUEEZE out. Each at a dynamic and at a static length: op counts,
LiteRT XNNPACK and builtin-kernel latency (2 threads, batch 1, the fastest of 3 medians of
30), and whether LiteRT's GPU accelerator runs the whole file (`fully_accelerated`, in a
process without TensorFlow, as the litert-gpu runtimes do). The README records the result.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DILATIONS = (1, 2, 4, 8, 1, 2, 4, 8)
GPU_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
import numpy as np
from converter.parity.runtimes import availability, create
missing = availability("litert-gpu-fp32")
if missing:
    print(json.dumps({{"gpu": "unavailable: " + missing}}))
    raise SystemExit
runtime = create("litert-gpu-fp32")
runtime.load({path!r}, "")
runtime.run({{runtime.inputs[0]: np.zeros({shape!r}, np.float32)}})
print(json.dumps({{"gpu": runtime.facts().get("fully_accelerated")}}))
"""


def chains(length: int | None, channels: int) -> dict[str, bytes]:
    """The two forms of the chain as .tflite files."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    rng = np.random.default_rng(0)
    kernels = [tf.constant(rng.standard_normal((1, 3, channels, channels)).astype(np.float32)
                           * 0.1) for _ in DILATIONS]
    spec = tf.TensorSpec([1, length, channels], tf.float32)

    def conv(x4: Any, i: int) -> Any:
        padded = tf.pad(x4, [[0, 0], [0, 0], [2 * DILATIONS[i], 0], [0, 0]])
        return tf.nn.conv2d(padded, kernels[i], 1, "VALID", dilations=[1, 1, DILATIONS[i], 1])

    @tf.function(input_signature=[spec])
    def three_d(x: Any) -> Any:
        for i in range(len(DILATIONS)):
            x = x + tf.nn.relu(tf.squeeze(conv(tf.expand_dims(x, 1), i), 1))
        return x

    @tf.function(input_signature=[spec])
    def four_d(x: Any) -> Any:
        x4 = tf.expand_dims(x, 1)
        for i in range(len(DILATIONS)):
            x4 = x4 + tf.nn.relu(conv(x4, i))
        return tf.squeeze(x4, 1)

    files = {}
    for name, function in (("3-D", three_d), ("4-D", four_d)):
        module = tf.Module()
        module.f = function
        directory = tempfile.mkdtemp(prefix="conv-region-")
        tf.saved_model.save(module, directory,
                            signatures={"serving_default": function.get_concrete_function()})
        files[name] = tf.lite.TFLiteConverter.from_saved_model(directory).convert()
    return files


def latency(data: bytes, resolver: str, x: np.ndarray) -> float:
    """Milliseconds per run: the fastest of 3 medians of 30."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=data, num_threads=2,
                              experimental_op_resolver_type=OpResolverType[resolver])
    interpreter.resize_tensor_input(0, list(x.shape))
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    medians = []
    for _ in range(3):
        times = []
        for _ in range(35):
            start = time.perf_counter()
            interpreter.set_tensor(index, x)
            interpreter.invoke()
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times[5:]))
    return min(medians) * 1e3


def gpu(data: bytes, shape: tuple[int, ...]) -> str:
    """Whether the GPU accelerator runs the whole file, asked in a process of its own."""
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as handle:
        handle.write(data)
    code = GPU_CHILD.format(root=str(ROOT), path=handle.name, shape=shape)
    env = {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return str(json.loads(lines[-1])["gpu"]) if lines else f"failed: {done.stderr[-200:]}"


def main() -> int:
    """Measure both forms at a dynamic and a static length; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--channels", type=int, default=32)
    args = parser.parse_args()
    from ai_edge_litert.interpreter import Interpreter

    x = np.random.default_rng(1).standard_normal((1, args.length, args.channels)).astype(
        np.float32)
    print("| length | form | ops | XNNPACK ms | builtin ms | GPU fully accelerated |")
    print("| --- | --- | --- | --- | --- | --- |")
    for length in (None, args.length):
        for name, data in chains(length, args.channels).items():
            ops = len(Interpreter(model_content=data)._get_ops_details())
            print(f"| {'dynamic' if length is None else 'static'} | {name} | {ops} | "
                  f"{latency(data, 'AUTO', x):.3f} | "
                  f"{latency(data, 'BUILTIN_WITHOUT_DEFAULT_DELEGATES', x):.3f} | "
                  f"{gpu(data, x.shape)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
