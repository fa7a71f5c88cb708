"""Precisions, static shapes, dynamic-length recurrent layers and byte-identical output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from converter.export.write import tflite_name
from converter.options import ConvertOptions
from converter.report.documents import without_timings
from tests.conftest import ROOT, sample

pytestmark = pytest.mark.tf
TFLITE_RUNTIMES = ("tflite-xnnpack", "tflite-builtin", "tflite-reference")


def test_every_precision_is_a_file_with_its_own_tolerance(tmp_path) -> None:
    from converter import convert

    calibration = tmp_path / "calibration.npz"
    rng = np.random.default_rng(5)
    np.savez(calibration, ecg=rng.uniform(-2, 2, (16, 180, 1)).astype(np.float32))
    result = convert(sample("ecg_classifier.keras"), ConvertOptions(
        output_dir=tmp_path / "out", to=("tflite",), runtimes=TFLITE_RUNTIMES,
        precision=("fp32", "fp16", "int8-dynamic", "int8"), calibration=calibration))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    sizes = {a.precision: a.bytes for a in result.artifacts}
    assert [a.path for a in result.artifacts] == [
        "ecg_classifier.tflite", "ecg_classifier.fp16.tflite",
        "ecg_classifier.int8-dynamic.tflite", "ecg_classifier.int8.tflite"]
    assert sizes["fp16"] < sizes["fp32"] and sizes["int8-dynamic"] < sizes["fp16"]
    worst = {p: max(c.max_abs for c in result.parity
                    if c.artifact == tflite_name("ecg_classifier", p)) for p in sizes}
    assert worst["fp32"] <= 1e-6 < worst["fp16"] <= 1e-3 < worst["int8"] <= 0.05
    assert 1e-5 < worst["int8-dynamic"] <= 5e-3
    int8 = next(c for c in result.parity if c.artifact == "ecg_classifier.int8.tflite")
    assert int8.tolerance.scaled and int8.tolerance.atol == 0.1
    assert all(o.top1_agreement == 1.0 for o in int8.outputs)


def test_static_shape_fixes_batch_and_length(tmp_path) -> None:
    from converter import convert

    result = convert(sample("tcn.keras"), ConvertOptions(
        output_dir=tmp_path, runtimes=("tflite-builtin", "ort-cpu"), static_shape=True,
        static_batch=1, static_length=64))
    assert result.passed
    assert result.report["inputs"]["cases"] == [{"series": [1, 64, 3]}]
    for artifact in result.artifacts:
        assert not artifact.delegates.get("dynamic_inputs"), artifact.delegates
    record = next(p for p in result.passes if p.name == "static_shape")
    assert record.changes == ("series: [None, None, 3] -> [1, 64, 3]",)


def test_the_native_onnx_lowering_keeps_1d_convs(tmp_path) -> None:
    import onnx

    from converter import convert

    result = convert(sample("tcn.keras"), ConvertOptions(
        output_dir=tmp_path, to=("onnx",), onnx_lowering="native",
        runtimes=("ort-cpu", "onnx-reference")))
    assert result.passed
    model = onnx.load(tmp_path / "tcn.onnx")
    assert [n.op_type for n in model.graph.node] == [
        "Transpose", "Conv", "Conv", "Relu", "Add", "Conv", "Relu", "Add", "Conv", "Relu", "Add",
        "Conv", "Reshape"]
    assert result.artifacts[0].lowerings == ()
    assert result.report["options"]["onnx_lowering"] == "native"


@pytest.mark.parametrize(("length", "unroll", "fused", "whiles"),
                         [(None, 0, 1, 3), (12, 0, 1, 3), (1500, 0, 1, 3), (12, 64, 0, 0)],
                         ids=["dynamic", "static", "static-1500", "static-unrolled"])
def test_recurrent_layers_are_builtin_tflite(tmp_path, length, unroll, fused, whiles) -> None:
    # The LSTM is one fused op; SimpleRNN and each GRU direction one builtin WHILE, at any
    # length (static or not); unrolled up to --unroll-recurrent N steps; no Flex either way.
    import keras

    from converter import convert

    x = keras.Input((length, 4), name="frames")
    h = keras.layers.SimpleRNN(5, return_sequences=True, name="rnn")(x)
    h = keras.layers.LSTM(6, return_sequences=True, name="lstm")(h)
    h = keras.layers.Bidirectional(keras.layers.GRU(5), name="bigru")(h)
    keras.Model(x, h).save(tmp_path / "rnn.keras")
    result = convert(tmp_path / "rnn.keras", ConvertOptions(  # power: not what is asserted
        output_dir=tmp_path / "out", runtimes=(*TFLITE_RUNTIMES, "ort-cpu"),
        unroll_recurrent=unroll, power="off"))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    tflite = result.artifacts[0]
    assert tflite.op_counts.get("UNIDIRECTIONAL_SEQUENCE_LSTM", 0) == fused
    assert tflite.op_counts.get("WHILE", 0) == whiles and not tflite.delegates["flex_ops"]
    assert "CUSTOM" not in str(tflite.op_counts) and tflite.lowerings == ()
    unrolled = [r for r in result.report["passes"] if r["name"].startswith("unroll_static")]
    assert [r["changes"] for r in unrolled] == ([[
        f"{name}: unroll=True over 12 static steps (--unroll-recurrent 64)"
        for name in ("rnn", "lstm", "bigru")]] if unroll else [])
    # one ONNX node per layer: tf2onnx's LSTM, converter's RNN and bidirectional GRU nodes
    onnx_counts = result.artifacts[1].op_counts
    assert [onnx_counts.get(op) for op in ("LSTM", "GRU", "RNN", "Loop")] == [1, 1, 1, None]


def test_recurrent_loops_keep_their_numbers_from_1_to_10000_steps(tmp_path) -> None:
    # Each step's output is written in place: step 10,000 costs what step 1 does.
    import keras

    from converter import convert

    x = keras.Input((None, 3), name="signal")
    h = keras.layers.Conv1D(4, 3, padding="causal")(x)
    h = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(h)
    h = keras.layers.GRU(3, return_sequences=True, go_backwards=True)(h)
    h = keras.layers.SimpleRNN(2)(h)
    keras.Model(x, h).save(tmp_path / "long.keras")
    lengths = (1, 2, 97, 1500, 10000)
    result = convert(tmp_path / "long.keras", ConvertOptions(
        output_dir=tmp_path / "out", lengths=lengths, batch_size=1, power="off",
        runtimes=("keras", *TFLITE_RUNTIMES, "ort-cpu")))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    assert [case["signal"][1] for case in result.report["inputs"]["cases"]] == list(lengths)
    assert {c.runtime for c in result.parity if c.passed} >= {*TFLITE_RUNTIMES, "ort-cpu"}


# kim_cnn: tf2onnx names its three branches' equal Squeeze axes differently in each run;
# conv_bilstm: tf2onnx's own merge keeps the forward or the backward LSTM's slice name.
IDENTICAL = ["wavenet_block", "kim_cnn", "conv_bilstm"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The same batch run twice as two CI machines would: separate checkouts (cwd), the same
    relative -o, other hash seeds, nothing shared with this session's servers."""
    lines = ["[defaults]", 'runtime = ["tflite-builtin", "ort-cpu"]',
             # --power auto runs planted copies only where they cost less than the check,
             # by the clock: on a busy machine two runs may decide differently
             'power = "full"']
    for name in IDENTICAL:
        lines += ["[[models]]", f"path = {json.dumps(str(sample(f'{name}.h5')))}"]
    outs = []
    for run in ("a", "b"):
        cwd = tmp_path_factory.mktemp(f"run_{run}")
        (cwd / "models.toml").write_text("\n".join(lines) + "\n")
        done = subprocess.run(
            [sys.executable, "-m", "converter", "batch", "models.toml", "-o", "out", "-q"],
            cwd=cwd, capture_output=True, text=True,
            env={"PYTHONHASHSEED": run == "a" and "1" or "2", "PATH": "/usr/bin",
                 "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stdout + done.stderr
        outs.append(cwd / "out")
    return outs


@pytest.mark.parametrize("name", IDENTICAL)
def test_two_runs_write_byte_identical_files_and_reports(two_runs, name: str) -> None:
    digests, reports = [], []
    for out in (run / name for run in two_runs):
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(out.iterdir()) if p.suffix != ".json"})
        reports.append(json.loads((out / "report.json").read_text()))
    assert digests[0] == digests[1]  # the batch cache's key file included: the same inputs
    assert set(digests[0]) == {f"{name}.tflite", f"{name}.onnx", ".converter-cache-key"}
    assert reports[0]["timings"] != {} and reports[0]["passed"]
    assert all(c["power"]["planted"] for c in reports[0]["parity"])
    assert without_timings(reports[0]) == without_timings(reports[1])


def test_channels_last_io_drops_the_boundary_transposes(tmp_path) -> None:
    from converter import convert

    result = convert(sample("channels_first.keras"), ConvertOptions(
        output_dir=tmp_path, io_layout="channels_last",
        runtimes=("tflite-xnnpack", "ort-cpu", "numpy")))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    assert result.report["inputs"]["cases"] == [{"channels": [4, 50, 4]}]
    tflite, onnx = (a.op_counts for a in result.artifacts)
    # TFLite convolves channels_last, ONNX channels_first: the transpose moves to ONNX's input.
    assert "TRANSPOSE" not in tflite and onnx.get("Transpose") == 1
    record = next(p for p in result.passes if p.name == "io_layout_channels_last")
    assert record.changes == ("channels_to_channels_last: removed, channels is channels_last",)


@pytest.mark.parametrize("opset", [9, 13, 18])
def test_every_opset_gives_the_same_minimal_onnx_graph(tmp_path, opset) -> None:
    import onnx

    from converter import convert

    result = convert(sample("wavenet_block.keras"), ConvertOptions(
        output_dir=tmp_path, to=("onnx",), opset=opset, runtimes=("ort-cpu", "onnx-reference")))
    assert result.passed
    model = onnx.load(tmp_path / "wavenet_block.onnx")
    assert {o.domain: o.version for o in model.opset_import}[""] == opset
    assert result.artifacts[0].op_counts == {"Add": 4, "Conv": 13, "Mul": 3, "Relu": 1,
                                             "Sigmoid": 3, "Softmax": 1, "Tanh": 3,
                                             "Transpose": 2}


def test_a_file_that_keeps_state_between_invocations_fails_its_check(tmp_path) -> None:
    # The stock converter fuses a tf.keras LSTM into UNIDIRECTIONAL_SEQUENCE_LSTM, whose
    # state tensors keep the last call's final state: the same input, called again, differs.
    import tensorflow as tf
    import tf_keras

    from converter.api import verify_files

    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((8, 3), batch_size=1, name="x")
    h = tf_keras.layers.Conv1D(4, 3, activation="relu")(x)
    model = tf_keras.Model(x, tf_keras.layers.Dense(2, name="out")(tf_keras.layers.LSTM(8)(h)))
    # a strong recurrence over few steps: the state a call starts from shows in its output
    model.set_weights([w * 3 if w.shape == (8, 32) else w for w in model.get_weights()])
    model.save(tmp_path / "lstm.h5")
    stock = tmp_path / "stock.tflite"
    stock.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    result = verify_files(tmp_path / "lstm.h5", [stock], ConvertOptions(
        batch_size=1, power="off", runtimes=TFLITE_RUNTIMES))
    checks = {c.runtime: c for c in result.parity}
    for name in ("tflite-xnnpack", "tflite-builtin"):
        assert checks[name].status == "failed"
        assert "keeps state between invocations" in checks[name].reason
        assert checks[name].facts["repeat_max_abs"] > 1e-5
    # converter's own fused LSTM refills its state before every call: the same input gives
    # the same outputs every call
    own = convert_model(tmp_path / "lstm.h5", tmp_path / "out")
    assert own.passed and all("repeat_max_abs" not in c.facts for c in own.parity)
    assert own.artifacts[0].op_counts["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1


def convert_model(path: Path, out: Path, inputs: Path | None = None) -> Any:
    from converter import convert

    return convert(path, ConvertOptions(output_dir=out, to=("tflite",), batch_size=1,
                                        power="off", runtimes=("keras", *TFLITE_RUNTIMES),
                                        inputs=inputs))


def test_masked_steps_carry_the_state_in_the_tflite_loop(tmp_path) -> None:
    # Masking in front: a cleared step keeps the state and repeats the previous output,
    # as Keras's own loop does; zeros padded at the end, the start and the middle.
    import tf_keras

    tf_keras.utils.set_random_seed(1)
    x = tf_keras.Input((None, 3), name="x")
    h = tf_keras.layers.LSTM(5, return_sequences=True)(tf_keras.layers.Masking(0.0)(x))
    h = tf_keras.layers.Bidirectional(tf_keras.layers.GRU(4, return_sequences=True,
                                                          reset_after=False))(h)
    model = tf_keras.Model(x, tf_keras.layers.SimpleRNN(3, go_backwards=True)(h))
    model.save(tmp_path / "masked.h5")
    data = np.random.default_rng(0).uniform(-2, 2, (4, 20, 3)).astype(np.float32)
    data[0, 15:] = 0
    data[1, :5] = 0
    data[2, 7:9] = 0
    np.savez(tmp_path / "inputs.npz", x=data)
    # the mask matters: the same layers without it give other outputs on these inputs
    unmasked = tf_keras.Model(x, model.layers[-1](model.layers[-2](model.layers[-3](x))))
    assert np.abs(unmasked(data).numpy() - model(data).numpy()).max() > 1e-2
    result = convert_model(tmp_path / "masked.h5", tmp_path / "out",
                           inputs=tmp_path / "inputs.npz")
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    # the fused kernel has no per-step mask: the masked LSTM loops, and the report says why
    assert result.artifacts[0].op_counts["WHILE"] == 4
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in result.artifacts[0].op_counts
    assert [line.split(":")[0] for line in result.artifacts[0].lowerings] == [
        model.layers[2].name]  # the LSTM
    assert "a mask reaches it" in result.artifacts[0].lowerings[0]


def test_a_static_batch_keeps_one_onnx_lstm_node(tmp_path) -> None:
    # tf2onnx finds the Keras LSTM only at a dynamic batch: traced so, then given batch 1
    import onnx

    from converter import convert

    result = convert(sample("conv_bilstm.h5"), ConvertOptions(
        output_dir=tmp_path, to=("onnx",), static_shape=True, power="off",
        runtimes=("ort-cpu", "onnx-reference")))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    model = onnx.load(tmp_path / "conv_bilstm.onnx")
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("LSTM") == 1 and "Loop" not in ops and "Shape" not in ops, ops
    dims = [[d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*model.graph.input, *model.graph.output)]
    assert dims == [[1, 40, 4], [1, 3]]
