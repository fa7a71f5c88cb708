"""One I/O contract for every artifact: the Keras model's input and output order and names.

Both converters flatten the serving function's outputs in sorted-key order; a model whose
outputs are not in alphabetical order got a .tflite whose output 0 was the other head, and
signature keys output_0/output_1. These tests run the files the way an app does (by
position) and compare with the Keras model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.tf
INPUTS, OUTPUTS = ["zeta", "alpha"], ["zstep", "apooled", "mid"]


@pytest.fixture(scope="module")
def two_heads(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Any]:
    """A Keras 3 model with inputs and outputs out of alphabetical order, and its files."""
    import keras

    from converter import ConvertOptions, convert

    zeta = keras.Input((None, 3), name="zeta")
    alpha = keras.Input((4,), name="alpha")
    h = keras.layers.Conv1D(6, 3, padding="same", activation="relu", name="conv")(zeta)
    step = keras.layers.Dense(2, name="zstep")(h)
    pooled = keras.layers.GlobalMaxPooling1D(name="gmp")(h)
    both = keras.layers.Concatenate(name="cat")([pooled, keras.layers.Dense(3, name="d")(alpha)])
    head = keras.layers.Dense(5, name="apooled")(both)
    mid = keras.layers.Dense(1, name="mid")(both)
    model = keras.Model([zeta, alpha], [step, head, mid])
    out = tmp_path_factory.mktemp("io")
    model.save(out / "two_heads.keras")
    result = convert(out / "two_heads.keras", ConvertOptions(
        output_dir=out / "files", runtimes=("tflite-xnnpack", "ort-cpu"), power="off"))
    assert result.passed, [(c.runtime, c.reason) for c in result.parity]
    feeds = {"zeta": np.random.default_rng(0).normal(size=(2, 9, 3)).astype(np.float32),
             "alpha": np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)}
    expected = [np.asarray(x) for x in model([feeds["zeta"], feeds["alpha"]])]
    return result, out / "files", (feeds, expected)


def test_the_tflite_file_lists_inputs_and_outputs_in_keras_order_and_names(two_heads) -> None:
    from ai_edge_litert.interpreter import Interpreter

    _, files, (feeds, expected) = two_heads
    interpreter = Interpreter(str(files / "two_heads.tflite"))
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    assert [d["name"] for d in inputs] == INPUTS
    assert [d["name"] for d in outputs] == OUTPUTS
    assert sorted(interpreter.get_signature_list()["serving_default"]["outputs"]) == \
        sorted(OUTPUTS)
    # As an app does: by position, resized to the batch and length.
    for detail in inputs:
        interpreter.resize_tensor_input(detail["index"], feeds[detail["name"]].shape)
    interpreter.allocate_tensors()
    for detail in inputs:
        interpreter.set_tensor(detail["index"], feeds[detail["name"]])
    interpreter.invoke()
    for position, want in enumerate(expected):
        got = interpreter.get_tensor(outputs[position]["index"])
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5, position


def test_the_onnx_file_lists_inputs_and_outputs_in_keras_order(two_heads) -> None:
    import onnxruntime as ort

    _, files, (feeds, expected) = two_heads
    session = ort.InferenceSession(str(files / "two_heads.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == INPUTS
    assert [o.name for o in session.get_outputs()] == OUTPUTS
    for got, want in zip(session.run(None, feeds), expected, strict=True):
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5


def test_the_report_lists_each_files_io_contract(two_heads) -> None:
    result, _, _ = two_heads
    for artifact in result.report["artifacts"]:
        io = artifact["io"]
        assert artifact["output_names"] == OUTPUTS and artifact["input_names"] == INPUTS
        assert io["inputs"] == [
            {"name": "zeta", "shape": [None, None, 3], "dtype": "float32",
             "layout": "(batch, steps, channels)"},
            {"name": "alpha", "shape": [None, 4], "dtype": "float32",
             "layout": "(batch, features)"}], artifact["path"]
        assert [(o["name"], o["shape"], o["layout"]) for o in io["outputs"]] == [
            ("zstep", [None, None, 2], "(batch, steps, channels)"),
            ("apooled", [None, 5], "(batch, features)"),
            ("mid", [None, 1], "(batch, features)")], artifact["path"]
