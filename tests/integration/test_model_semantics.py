"""What real models trip on (issue 19): training-mode calls, preprocessing layers, reference
runtimes known to be wrong, and graphs that depart from the original.

Each class is a model built here with the structure the issue measured on published models.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from converter import ConvertOptions, convert
from converter.artifacts import ConvertResult
from converter.options import GPU_RUNTIMES
from tests.conftest import gpu_here

pytestmark = pytest.mark.tf
QUICK = {"power": "off"}


def statuses(result: ConvertResult) -> dict[tuple[str, str], str]:
    return {(c.runtime, Path(c.artifact).name): c.status for c in result.parity}


def build_mc_dropout(lib: Any) -> Any:
    """A regressor whose Dropout, GaussianNoise and BatchNormalization run in training mode."""
    inp = lib.Input((30, 2))
    x = lib.layers.Conv1D(8, 3, activation="relu", name="conv")(inp)
    x = lib.layers.Dropout(0.5, name="mc_dropout")(x, training=True)
    x = lib.layers.GaussianNoise(0.3, name="noise")(x, training=True)
    x = lib.layers.BatchNormalization(name="bn")(x, training=True)
    x = lib.layers.GlobalAveragePooling1D(name="gap")(x)
    return lib.Model(inp, lib.layers.Dense(1, name="out")(x))


@pytest.fixture(scope="module")
def mc_dropout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ConvertResult]:
    """A tf.keras .h5 Monte-Carlo dropout model, converted."""
    import tf_keras

    out = tmp_path_factory.mktemp("mc")
    build_mc_dropout(tf_keras).save(out / "mc.h5")
    return out / "mc.h5", convert(out / "mc.h5", ConvertOptions(output_dir=out / "files",
                                                                 **QUICK))


def test_the_training_mode_model_is_random_at_inference_as_written(mc_dropout) -> None:
    """The premise: tf.keras runs the recorded training=True calls despite training=False."""
    import tf_keras

    model = tf_keras.models.load_model(mc_dropout[0], compile=False)
    x = np.random.default_rng(0).normal(size=(4, 30, 2)).astype("float32")
    first, second = (np.asarray(model(x, training=False)) for _ in range(2))
    assert np.abs(first - second).max() > 1e-2


def test_training_mode_calls_export_the_inference_form_and_parity_passes(mc_dropout) -> None:
    _, result = mc_dropout
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert set(statuses(result).values()) == {"passed"}
    calls = result.report["training_mode"]["calls"]
    assert [(c["layer"], c["class_name"], c["stochastic"]) for c in calls] == [
        ("mc_dropout", "Dropout", True), ("noise", "GaussianNoise", True),
        ("bn", "BatchNormalization", False)]
    assert result.report["training_mode"]["stochastic"] is True
    changes = next(p.changes for p in result.passes if p.name == "call_arguments")
    assert changes[0].startswith("mc_dropout: called with training=True, so it drops random "
                                 "inputs (Monte-Carlo dropout) at inference in the source model")
    from converter.report.view import verdict

    line = verdict({"report": result.report})
    counted = "10 parity checks passed" if gpu_here() else (
        "8 parity checks passed, skipped: litert-gpu-fp16, litert-gpu-fp32 (the report says why)")
    assert line.startswith(f"PASSED: {counted}; the source model is stochastic at "
                           "inference: mc_dropout, noise, bn are called with training=True; "
                           "exported and checked: the deterministic inference form")


def test_inspect_lists_the_training_mode_calls(mc_dropout) -> None:
    from converter.inspection import inspect

    found = inspect(mc_dropout[0])
    assert [(c["layer"], c["effect"]) for c in found.training_mode] == [
        ("mc_dropout", "drops random inputs (Monte-Carlo dropout)"),
        ("noise", "adds random noise"), ("bn", "normalises with each batch's own statistics")]


def test_keras3_training_mode_calls_are_read_from_the_keras_file(tmp_path: Path) -> None:
    import keras

    build_mc_dropout(keras).save(tmp_path / "mc3.keras")
    from converter.inspection import inspect

    assert [c["layer"] for c in inspect(tmp_path / "mc3.keras").training_mode] == [
        "mc_dropout", "noise", "bn"]


def test_a_call_keyword_no_pass_understands_stops_the_load(tmp_path: Path) -> None:
    """An LSTM given its initial state by keyword: dropping it would change the numbers."""
    import keras

    from converter.cli import main

    seq, state = keras.Input((10, 3)), keras.Input((4,))
    x = keras.layers.LSTM(4, name="lstm")(seq, initial_state=[state, state])
    keras.Model([seq, state], keras.layers.Dense(1)(x)).save(tmp_path / "state.keras")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "state.keras"), "-o",
                                       str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "lstm (its call keyword 'initial_state')" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def preprocessing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ConvertResult]:
    """A Keras 3 model with an adapted Normalization, a given one (inverted) and Rescaling."""
    import keras

    rng = np.random.default_rng(0)
    adapted = keras.layers.Normalization(axis=-1, name="norm")
    adapted.adapt(rng.normal(3.0, 2.0, (64, 40, 3)).astype("float32"))
    inp = keras.Input((None, 3), name="signal")
    x = keras.layers.Rescaling(0.5, offset=0.1, name="rescale")(adapted(inp))
    x = keras.layers.Normalization(axis=-1, mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25],
                                   invert=True, name="given")(x)
    x = keras.layers.Conv1D(8, 3, activation="relu", name="conv")(x)
    model = keras.Model(inp, keras.layers.Dense(2, name="out")(
        keras.layers.GlobalAveragePooling1D()(x)))
    out = tmp_path_factory.mktemp("pre")
    model.save(out / "pre.keras")
    return out, convert(out / "pre.keras", ConvertOptions(output_dir=out / "files", **QUICK))


def test_preprocessing_layers_export_as_constants_in_both_formats(preprocessing) -> None:
    import onnx
    from ai_edge_litert.interpreter import Interpreter

    out, result = preprocessing
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert statuses(result)[("numpy", "normalized-graph")] == "passed"
    model = onnx.load(out / "files" / "pre.onnx")
    assert [i.name for i in model.graph.input] == ["signal"]
    assert {n.op_type for n in model.graph.node} >= {"Sub", "Mul", "Add"}
    assert len(Interpreter(str(out / "files" / "pre.tflite")).get_input_details()) == 1


def test_a_vocabulary_lookup_layer_is_refused_with_the_reason(tmp_path: Path) -> None:
    import keras

    from converter.cli import main

    inp = keras.Input((12,), dtype="string")
    ids = keras.layers.StringLookup(vocabulary=["a", "b", "c"], name="lookup")(inp)
    x = keras.layers.Embedding(5, 4)(ids)
    keras.Model(inp, keras.layers.Conv1D(2, 3)(x)).save(tmp_path / "lookup.keras")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "lookup.keras"), "-o",
                                       str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "lookup (StringLookup: its vocabulary is a hash table" in " ".join(
        result.output.split())
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def relu_lstm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ConvertResult]:
    """A tf.keras 2 SavedModel: Conv1D -> RepeatVector -> LSTM(relu) -> TimeDistributed."""
    import tf_keras

    inp = tf_keras.Input((20, 3))
    x = tf_keras.layers.Conv1D(8, 3, activation="relu")(inp)
    x = tf_keras.layers.RepeatVector(10)(tf_keras.layers.GlobalMaxPooling1D()(x))
    x = tf_keras.layers.LSTM(16, activation="relu", return_sequences=True)(x)
    model = tf_keras.Model(inp, tf_keras.layers.TimeDistributed(tf_keras.layers.Dense(2))(x))
    out = tmp_path_factory.mktemp("lstm")
    model.save(out / "saved", save_format="tf")
    return out, convert(out / "saved", ConvertOptions(output_dir=out / "files", **QUICK))


def test_onnx_reference_is_skipped_where_it_misevaluates_an_lstm(relu_lstm) -> None:
    import onnx
    import onnxruntime
    from onnx.reference import ReferenceEvaluator

    from converter.parity.runtimes.onnx_reference import spec_ops

    out, result = relu_lstm
    assert result.exit_code == 0
    found = statuses(result)
    assert found.pop(("onnx-reference", "saved.onnx")) == "skipped"
    assert {found.pop((gpu, "saved.tflite")) for gpu in GPU_RUNTIMES} <= {"passed", "skipped"}
    assert set(found.values()) == {"passed"}
    reason = next(c.reason for c in result.parity if c.runtime == "onnx-reference")
    assert "it runs LSTM" in reason and "(Sigmoid, Relu, Relu here)" in reason
    # The premise: onnx.reference's numbers for this file are wrong, onnxruntime's right.
    path = str(out / "files" / "saved.onnx")
    name = onnx.load(path).graph.input[0].name
    x = np.random.default_rng(1).uniform(-2, 2, (3, 20, 3)).astype("float32")
    wrong = ReferenceEvaluator(path, new_ops=spec_ops()).run(None, {name: x})[0]
    right = onnxruntime.InferenceSession(path).run(None, {name: x})[0]
    assert np.abs(wrong - right).max() > 0.1


def test_asked_for_by_name_a_misevaluating_reference_is_exit_4(relu_lstm, tmp_path) -> None:
    out, _ = relu_lstm
    result = convert(out / "saved", ConvertOptions(
        output_dir=tmp_path / "named", runtimes=("ort-cpu", "onnx-reference"), to=("onnx",),
        **QUICK))
    assert result.exit_code == 4
    assert statuses(result) == {("ort-cpu", "saved.onnx"): "passed",
                                ("onnx-reference", "saved.onnx"): "skipped"}


def test_a_graph_that_departs_from_the_original_is_localised_there(tmp_path, monkeypatch) -> None:
    """A normalisation that changed the model (here one planted on purpose): the files agree
    with the graph, so their failures name no layer of theirs; the graph's checks name the
    layer where the graph departs from the original, read from the original's own layers."""
    import keras

    import converter.graph.pipeline as pipeline
    from converter.graph.passes import PassResult

    inp = keras.Input((30, 2))
    x = keras.layers.Conv1D(8, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv1D(8, 3, activation="relu", name="c2")(x)
    x = keras.layers.GlobalAveragePooling1D(name="gap")(x)
    keras.Model(inp, keras.layers.Dense(2, name="head")(x)).save(tmp_path / "dep.keras")

    class Changes:
        name = "changes_c2"

        def __call__(self, graph: Any) -> Any:
            layers = tuple(dataclasses.replace(x, weights=(x.weights[0] * 1.3, *x.weights[1:]))
                           if x.name == "c2" else x for x in graph.layers)
            return PassResult(dataclasses.replace(graph, layers=layers), True, ("c2",))

    monkeypatch.setattr(pipeline, "DEFAULT_PASSES", (*pipeline.DEFAULT_PASSES, Changes()))
    result = convert(tmp_path / "dep.keras", ConvertOptions(
        output_dir=tmp_path / "out", runtimes=("numpy", "tflite-builtin", "ort-cpu"), **QUICK))
    assert result.exit_code == 1
    by_runtime = {c.runtime: c for c in result.parity}
    graph = by_runtime["numpy"]
    assert graph.localization["layer"] == "c2"
    assert graph.localization["between"] == "the original model and the normalised graph"
    assert "the normalised graph departs from the original at c2 (Conv1D)" in graph.reason
    for runtime in ("tflite-builtin", "ort-cpu"):
        record = by_runtime[runtime].localization
        assert record["layer"] is None and record["source"]["layer"] == "c2"
        assert "its outputs agree with the normalised graph's" in record["note"]
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written["parity"][0]["localization"]["layer"] == "c2"
