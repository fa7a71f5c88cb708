#!/usr/bin/env python
"""CNN-LSTM models: converter's default files against the stock converters and unrolled ones.

Usage: bench_recurrent.py [--models NAME ...] [--out bench_recurrent.md] [--repeat-seconds 2]

For each model with recurrent layers (the conv_bilstm sample and the CNN-LSTM models of
../shared/real_models that tf.keras loads), at batch 1 and a static length (the model's own,
else LENGTH): the stock files (TFLiteConverter.from_keras_model, which fuses a tf.keras LSTM
into UNIDIRECTIONAL_SEQUENCE_LSTM at a static batch, and tf2onnx), converter's default files
(at the shapes the model declares: fused LSTMs, GRU/SimpleRNN loops; run at that length), and
converter's TFLite file with --static-shape --unroll-recurrent (everything unrolled).
Reported: TFLite ops (every subgraph), export seconds of converter's two forms, and latency
ratios on LiteRT XNNPACK and onnxruntime CPU (> 1: converter's default files are faster),
timed in turns as scripts/bench.py times them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (  # noqa: E402
    SAMPLES, Files, arguments, keras_model, measure, publish, ratio, stock_files)

REAL = Path(__file__).resolve().parents[2] / "shared" / "real_models"
MODELS = {"conv_bilstm": SAMPLES / "conv_bilstm.h5",
          "cnn1dvar": REAL / "cnn1dvar__CNN1D_Model_4H_LSTM.h5",
          "nssa": REAL / "nssa__cnn_bilstm_model.h5",
          "nids": REAL / "nids__cnn_bilstm_model.h5",
          "nonbangkok": REAL / "nonbangkok__model.h5"}
LENGTH = 200  # for a model whose length is dynamic


def batch_one(model: Any) -> tuple[Any, int]:
    """The tf.keras model rebuilt on a batch-1 input at a static length, and that length."""
    import tf_keras

    shape = tuple(model.inputs[0].shape[1:])
    length = shape[0] or LENGTH
    inputs = tf_keras.Input(batch_shape=(1, length, *shape[1:]), name=model.input_names[0])
    return tf_keras.Model(inputs, model(inputs)), int(length)


def ours(path: Path, workdir: Path, length: int, unroll: int) -> tuple[Files, float]:
    """Converter's files and export seconds.

    Its defaults at the shapes the model declares, or with `unroll` the TFLite file alone at
    batch 1 and `length`, unrolled.
    """
    from converter import convert
    from converter.options import ConvertOptions

    out = workdir / f"{path.stem}-{unroll}"
    shaped = {"static_shape": True, "static_length": length, "unroll_recurrent": unroll,
              "to": ("tflite",)} if unroll else {"unroll_recurrent": 0}
    result = convert(path, ConvertOptions(output_dir=out, runtimes=("ort-cpu",), power="off",
                                          **shaped))  # type: ignore[arg-type]
    data = {a.format: (out / a.path).read_bytes() for a in result.artifacts}
    return Files(data.get("tflite"), data.get("onnx")), float(result.report["timings"]["export"])


def row(name: str, path: Path, workdir: Path, budget: float) -> list[str]:
    """One model's cells."""
    import numpy as np

    model, length = batch_one(keras_model(path))
    x = np.random.default_rng(0).uniform(-2, 2, (1, length, *model.inputs[0].shape[2:]))
    arrays = {model.input_names[0]: x.astype(np.float32)}
    expected = np.asarray(model(arrays[model.input_names[0]]))
    stock = stock_files(model)
    loop, loop_export = ours(path, workdir, length, 0)
    unrolled, unrolled_export = ours(path, workdir, length, length)
    stock_row, loop_row, unrolled_row = measure([stock, loop, unrolled], arrays, expected, budget)
    assert stock_row is not None and loop_row is not None and unrolled_row is not None

    def ops(side: dict[str, Any]) -> str:
        return str(side["tflite"]["ops"]) if "tflite" in side else "failed"

    return [name, str(length), f"{ops(stock_row)} / {ops(loop_row)} / {ops(unrolled_row)}",
            f"{loop_export:.1f} / {unrolled_export:.1f}",
            ratio(stock_row, loop_row, "tflite", "seconds"),
            ratio(unrolled_row, loop_row, "tflite", "seconds"),
            ratio(stock_row, loop_row, "onnx", "seconds"),
            "; ".join(stock.failures) or "-"]


def main(argv: list[str] | None = None) -> int:
    """Benchmark every recurrent model found and print the table."""
    args = arguments(__doc__.splitlines()[0], argv)
    lines = ["| model | length | TFLite ops stock / ours / unrolled | export s ours / unrolled "
             "| XNNPACK stock / ours | XNNPACK unrolled / ours | onnxruntime stock / ours "
             "| stock failures |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory(prefix="converter-bench-rnn-") as tmp:
        for name, path in MODELS.items():
            if not path.exists() or (args.models and name not in args.models):
                continue
            began = time.monotonic()
            try:
                cells = row(name, path, Path(tmp), args.repeat_seconds)
            except Exception as exc:  # a model tf.keras cannot load is a line, not a crash
                cells = [name, "-", "-", "-", "-", "-", "-",
                         f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}"]
            lines.append("| " + " | ".join(cells) + " |")
            print(f"bench: {name} done in {time.monotonic() - began:.0f} s", file=sys.stderr,
                  flush=True)
    return publish("\n".join(lines), args.out)


if __name__ == "__main__":
    sys.exit(main())
