#!/usr/bin/env python
"""Our artifacts against the stock converters', measured side by side in one run.

Usage: bench.py [--models NAME ...] [--out bench.md] [--repeat-seconds 2.0]
                [--before CHECKOUT]  (bench_before.py: an earlier commit's files beside ours)
       bench.py --table pipeline [--models NAME ...] [--rounds 2]  (bench_pipeline.py)
       bench.py --table recurrent [--models NAME ...]  (bench_recurrent.py: CNN-LSTM rows)

For each model: converter's .tflite and .onnx (converter.convert, checked on ort-cpu) and
the stock ones (TFLiteConverter.from_keras_model and tf2onnx.convert.from_keras on the model
loaded by the library that wrote it). Reported: op counts, file sizes, the error of each file
against the Keras model on the benchmark input, and inference latency on LiteRT XNNPACK and
onnxruntime CPU with 2 threads (the files of a model timed in turns, each one's fastest
median), as stock / ours
ratios (> 1: ours is faster). Where converter chose an onnxruntime-specific lowering for
its .onnx (artifacts[].lowerings), the same model exported with --onnx-lowering native is
measured too, so the table shows what the choice gains. Models: the samples, plus SpliceAI
from ../shared/real_models when it is there. The Markdown table goes to stdout and --out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SAMPLES = ROOT / "sample_models" / "files"
SPLICEAI = ROOT.parent / "shared" / "real_models" / "spliceai__spliceai1.h5"
# Benchmark length for inputs whose length is dynamic (SpliceAI: DESIGN.md's 15,000).
LENGTHS = {"spliceai": 15000}
DEFAULT_LENGTH = 2000
THREADS = 2


@dataclass(frozen=True)
class Files:
    """One converter's two files (None where it failed, with the reason)."""

    tflite: bytes | None
    onnx: bytes | None
    failures: tuple[str, ...] = ()
    lowerings: tuple[str, ...] = ()  # the onnxruntime lowerings converter's .onnx uses


# Rows whose artifacts are exported with --static-shape at this length (the stock files
# stay dynamic, as the stock converters write them).
STATIC = {"spliceai --static-shape": 15000}


def model_paths(names: list[str] | None) -> dict[str, Path]:
    """The benchmark models by row name."""
    paths = {p.stem: p for p in sorted(SAMPLES.glob("*.h5"))}
    if SPLICEAI.exists():
        paths["spliceai"] = SPLICEAI
        paths["spliceai --static-shape"] = SPLICEAI
    return {k: v for k, v in paths.items() if not names or k.split()[0] in names}


def keras_model(path: Path) -> Any:
    """The model as the library that wrote it loads it (tf_keras for Keras 2 .h5)."""
    import tf_keras

    return tf_keras.models.load_model(path, compile=False)


def stock_files(model: Any) -> Files:
    """TFLiteConverter.from_keras_model and tf2onnx.convert.from_keras, default options."""
    import tensorflow as tf
    import tf2onnx

    tflite = onnx = None
    failures = []
    try:
        tflite = bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    except Exception as exc:  # the stock converter's own failure is a benchmark result
        failures.append(f"stock TFLite: {str(exc).splitlines()[0][:120]}")
    try:
        proto, _ = tf2onnx.convert.from_keras(model, opset=17)
        onnx = proto.SerializeToString()
    except Exception as exc:
        failures.append(f"stock ONNX: {str(exc).splitlines()[0][:120]}")
    return Files(tflite, onnx, tuple(failures))


def our_files(name: str, path: Path, workdir: Path, lowering: str = "onnxruntime") -> Files:
    """Converter's files for the model (parity checked on onnxruntime only, for speed).

    With lowering "native" only the .onnx, its convs kept native 1-D: the form converter
    would write without choosing for onnxruntime, measured to show what the choice gains.
    """
    from converter import convert
    from converter.export.onnx_graph import lowerings
    from converter.options import ConvertOptions

    out = workdir / f"{name.replace(' ', '_')}-{lowering}"
    static = {"static_shape": True, "static_length": STATIC[name]} if name in STATIC else {}
    targets = ("tflite", "onnx") if lowering == "onnxruntime" else ("onnx",)
    result = convert(path, ConvertOptions(output_dir=out, runtimes=("ort-cpu",), to=targets,
                                          onnx_lowering=lowering, **static))
    data = {a.format: (out / a.path).read_bytes() for a in result.artifacts}
    # the lowerings chosen for onnxruntime (not the Transposes the file keeps, also listed)
    notes = tuple(n for a in result.artifacts for n in lowerings(dict(a.graph_passes)))
    return Files(data.get("tflite"), data.get("onnx"), lowerings=notes)


def feeds(model: Any, name: str) -> dict[str, np.ndarray]:
    """One seeded batch-1 input per model input, at the benchmark length when dynamic."""
    rng = np.random.default_rng(0)
    arrays = {}
    for tensor, input_name in zip(model.inputs, model.input_names, strict=True):
        shape = [1, *(LENGTHS.get(name.split()[0], DEFAULT_LENGTH) if d is None else d
                      for d in tensor.shape[1:])]
        if "int" in str(tensor.dtype):
            arrays[input_name] = rng.integers(0, 10, shape).astype(np.int32)
        else:
            arrays[input_name] = rng.uniform(-2, 2, shape).astype(np.float32)
    return arrays


def by_name(names: list[str], arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The arrays in the order of a file's input names (which embed the Keras names)."""
    keys = sorted(arrays, key=len, reverse=True)  # "x_1" before "x"
    return [arrays[next(k for k in keys if k in name)] for name in names]


def tflite_runner(data: bytes, inputs: dict[str, np.ndarray]) -> Callable[[], list[np.ndarray]]:
    """A call that runs the .tflite once on XNNPACK with 2 threads."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data, num_threads=THREADS)
    details = interpreter.get_input_details()
    arrays = by_name([d["name"] for d in details], inputs)
    for detail, array in zip(details, arrays, strict=True):
        interpreter.resize_tensor_input(detail["index"], array.shape, strict=False)
    interpreter.allocate_tensors()

    def run() -> list[np.ndarray]:
        for detail, array in zip(details, arrays, strict=True):
            interpreter.set_tensor(detail["index"], array.astype(detail["dtype"]))
        interpreter.invoke()
        return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]

    return run


def onnx_runner(data: bytes, inputs: dict[str, np.ndarray]) -> Callable[[], list[np.ndarray]]:
    """A call that runs the .onnx once on onnxruntime CPU with 2 threads."""
    import onnxruntime as ort

    settings = ort.SessionOptions()
    settings.intra_op_num_threads = THREADS
    settings.inter_op_num_threads = 1
    session = ort.InferenceSession(data, settings, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feed = dict(zip(names, by_name(names, inputs), strict=True))
    return lambda: session.run(None, feed)


ROUNDS = 6


def latencies(runs: list[Callable[[], Any]], budget: float) -> list[float]:
    """Seconds per call of each run, timed in turns so that none is favoured by going first.

    Each run gets ROUNDS turns of budget / ROUNDS seconds (3 warm-up calls first); its
    figure is the fastest turn's median. Timed one after the other, the file measured first
    came out up to 15% faster on a 3-microsecond model.
    """
    medians: list[list[float]] = [[] for _ in runs]
    for _ in range(ROUNDS):
        for run, found in zip(runs, medians, strict=True):
            for _ in range(3):
                run()
            times: list[float] = []
            started = time.perf_counter()
            while len(times) < 5 or time.perf_counter() - started < budget / ROUNDS:
                begin = time.perf_counter()
                run()
                times.append(time.perf_counter() - begin)
            found.append(statistics.median(times))
    return [min(found) for found in medians]


def measure(sides: list[Files | None], arrays: dict[str, np.ndarray], expected: np.ndarray,
            budget: float) -> list[dict[str, Any] | None]:
    """Ops, bytes, error against Keras and latency of each side's files, timed together."""
    from converter.export.op_counts import onnx_op_counts, tflite_op_counts

    rows: list[dict[str, Any] | None] = [None if s is None else {} for s in sides]
    for fmt, make, count in (("tflite", tflite_runner, tflite_op_counts),
                             ("onnx", onnx_runner, onnx_op_counts)):
        timed: list[tuple[dict[str, Any], Callable[[], Any]]] = []
        for files, row in zip(sides, rows, strict=True):
            data = None if files is None else getattr(files, fmt)
            if data is None or row is None:
                continue
            row[fmt] = {"ops": sum(count(data).values()), "bytes": len(data)}
            try:
                run = make(data, arrays)
                outputs = [o for o in run() if o.shape == expected.shape]
            except RuntimeError as exc:  # a file that converts but cannot run is a result
                row[fmt]["failure"] = str(exc).splitlines()[0][:100]
                continue
            row[fmt]["error"] = float(np.abs(outputs[0] - expected).max()) if len(
                outputs) == 1 else None
            timed.append((row[fmt], run))
        for side, seconds in zip(timed, latencies([run for _, run in timed], budget),
                                 strict=True):
            side[0]["seconds"] = seconds
    return rows


def ratio(stock: dict[str, Any], ours: dict[str, Any], fmt: str, key: str) -> str:
    """Stock / ours for one measure, or the reason there is none."""
    if fmt not in stock:
        return "stock failed"
    if key not in stock[fmt]:
        return "stock cannot run"
    return f"{stock[fmt][key] / ours[fmt][key]:.2f}x"


# stock, ours, ours native (None: no lowering chosen), stock's files, and with --before:
# before's measures and (before's files, ours)
Row = tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None, Files,
            tuple[dict[str, Any] | None, tuple[Files, Files]] | None]


def table(rows: dict[str, Row]) -> str:
    """The Markdown table of every model (with --before, two columns against it)."""
    from bench_before import compared

    against = any(row[4] is not None for row in rows.values())
    extra = " LiteRT XNNPACK: ours vs before | onnxruntime: ours vs before |" if against else ""
    lines = [
        "| model | TFLite ops stock -> ours | ONNX nodes stock -> ours | TFLite bytes "
        "stock / ours | LiteRT XNNPACK speed-up | onnxruntime speed-up | onnxruntime: "
        "lowering chosen vs native 1-D | max abs error vs Keras, stock TFLite / ours |" + extra,
        "| --- " * (10 if against else 8) + "|",
    ]

    def pair(stock: dict[str, Any], ours: dict[str, Any], fmt: str, key: str) -> str:
        return f"{stock[fmt][key] if fmt in stock else 'failed'} -> {ours[fmt][key]}"

    def error(side: dict[str, Any]) -> str:
        value = side.get("tflite", {}).get("error")
        return "-" if value is None else f"{value:.1e}"

    for name, (stock, ours, native, stock_files_, before) in rows.items():
        chosen = "same file" if native is None else ratio(native, ours, "onnx", "seconds")
        cells = [name, pair(stock, ours, "tflite", "ops"), pair(stock, ours, "onnx", "ops"),
                 ratio(stock, ours, "tflite", "bytes"), ratio(stock, ours, "tflite", "seconds"),
                 ratio(stock, ours, "onnx", "seconds"), chosen, f"{error(stock)} / {error(ours)}"]
        if before is not None:
            cells += [compared(before[0], ours, before[1], fmt) for fmt in ("tflite", "onnx")]
        lines.append("| " + " | ".join(cells) + " |")
        failures = [*stock_files_.failures, *(f"stock {fmt} at run time: {side['failure']}"
                                              for fmt, side in stock.items() if "failure" in side)]
        failures += before[1][0].failures if before is not None else []
        lines.extend(f"|  | {failure} |" + "  |" * (len(cells) - 2) for failure in failures)
    return "\n".join(lines)


def arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """The options every benchmark script reads (each uses those it needs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeat-seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="pipeline table: rounds")
    parser.add_argument("--table", choices=("files", "pipeline", "recurrent"), default="files",
                        help="files: ops, sizes, latency; pipeline: bench_pipeline.py; "
                             "recurrent: bench_recurrent.py")
    parser.add_argument("--before", type=Path, default=None,
                        help="files table: another checkout whose converter's files are "
                             "timed beside ours (bench_before.py)")
    return parser.parse_args(argv)


def publish(text: str, out: Path | None) -> int:
    """Print the table, write it to `out` too when given; the exit status."""
    print(text)
    if out:
        out.write_text(text + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Benchmark every requested model and print the table."""
    args = arguments(__doc__.splitlines()[0], argv)
    if args.table == "pipeline":
        from bench_pipeline import main as pipeline

        return pipeline(argv)
    if args.table == "recurrent":
        from bench_recurrent import main as recurrent

        return recurrent(argv)
    from bench_before import before_files

    rows = {}
    with tempfile.TemporaryDirectory(prefix="converter-bench-") as tmp:
        for name, path in model_paths(args.models).items():
            model = keras_model(path)
            arrays = feeds(model, name)
            ordered = list(arrays.values())
            result = model(ordered if len(ordered) > 1 else ordered[0])
            expected = np.asarray(result[0] if isinstance(result, (list, tuple)) else result)
            stock = stock_files(model)
            ours = our_files(name, path, Path(tmp))
            native = our_files(name, path, Path(tmp), "native") if ours.lowerings else None
            before = before_files(args.before, name, path, Path(tmp)) if args.before else None
            stock_row, our_row, native_row, before_row = measure(
                [stock, ours, native, before], arrays, expected, args.repeat_seconds)
            assert stock_row is not None and our_row is not None
            rows[name] = (stock_row, our_row, native_row, stock,
                          None if before is None else (before_row, (before, ours)))
            print(f"bench: {name} done", file=sys.stderr, flush=True)
    return publish(table(rows), args.out)


if __name__ == "__main__":
    sys.exit(main())
