#!/usr/bin/env python
"""The hand-written stock script a user writes instead of converter, for bench_pipeline.py.

Usage: stock_pipeline.py MODEL [--length N]

In one process: load the model with the Keras that wrote it (tf_keras for a Keras 2 .h5,
Keras 3 otherwise), convert it with TFLiteConverter and tf2onnx, run both files (LiteRT
with XNNPACK, onnxruntime CPU) on one seeded batch and compare each with the Keras model's
outputs. Prints one JSON line: the max abs error per file, or why a step failed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def load(path: Path) -> Any:
    """The model as the library that wrote it loads it."""
    import h5py

    if path.suffix == ".h5":
        with h5py.File(path, "r") as handle:
            version = str(handle.attrs.get("keras_version", ""))
        if not version.startswith("3"):
            import tf_keras

            return tf_keras.models.load_model(path, compile=False)
    import keras

    return keras.models.load_model(path, compile=False)


def batch(model: Any, length: int) -> list[np.ndarray]:
    """One seeded batch of 4 per input, at `length` where the length is dynamic."""
    rng = np.random.default_rng(0)
    arrays = []
    for tensor in model.inputs:
        shape = [4, *(length if d is None else d for d in tensor.shape[1:])]
        if "int" in str(tensor.dtype):
            arrays.append(rng.integers(0, 10, shape).astype(np.int32))
        else:
            arrays.append(rng.uniform(-2, 2, shape).astype(np.float32))
    return arrays


def tflite_error(model: Any, arrays: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """TFLiteConverter's file on LiteRT's XNNPACK against Keras."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(
        model).convert())
    details = interpreter.get_input_details()
    for detail, array in zip(details, arrays, strict=True):
        interpreter.resize_tensor_input(detail["index"], array.shape, strict=False)
    interpreter.allocate_tensors()
    for detail, array in zip(details, arrays, strict=True):
        interpreter.set_tensor(detail["index"], array.astype(detail["dtype"]))
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    return worst(outputs, expected)


def onnx_error(model: Any, arrays: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """tf2onnx's file on onnxruntime CPU against Keras."""
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    if hasattr(model, "_get_save_spec"):  # tf_keras: from_keras reads the model itself
        proto, _ = tf2onnx.convert.from_keras(model, opset=17)
    else:  # Keras 3: through a tf.function, as its documentation says
        specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype, name=f"input_{i}")
                 for i, t in enumerate(model.inputs)]
        function = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0]))
        proto, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=17)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    feed = {i.name: a for i, a in zip(session.get_inputs(), arrays, strict=True)}
    return worst(session.run(None, feed), expected)


def worst(outputs: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """The largest max abs difference over outputs matched by shape."""
    errors = [float(np.max(np.abs(out - ref))) for ref in expected for out in outputs
              if out.shape == ref.shape]
    return max(errors) if errors else float("nan")


def main(argv: list[str]) -> int:
    """Convert and check one model; one JSON line on stdout."""
    path = Path(argv[0])
    length = int(argv[argv.index("--length") + 1]) if "--length" in argv else 97
    model = load(path)
    arrays = batch(model, length)
    result = model(arrays if len(arrays) > 1 else arrays[0])
    expected = [np.asarray(r) for r in (result if isinstance(result, (list, tuple))
                                        else [result])]
    found: dict[str, Any] = {}
    for name, check in (("tflite", tflite_error), ("onnx", onnx_error)):
        try:
            found[name] = check(model, arrays, expected)
        except Exception as exc:  # the stock tool's failure is a benchmark result
            found[name] = f"failed: {str(exc).splitlines()[0][:120]}"
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
