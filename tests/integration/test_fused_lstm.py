"""LSTMs as TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM: counts, variants, state, batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from converter.export.flatbuffer import unpacked
from converter.export.op_counts import tflite_op_counts
from converter.options import ConvertOptions
from tests.conftest import REAL_MODELS, sample

pytestmark = pytest.mark.tf

CPU_TFLITE = ("tflite-xnnpack", "tflite-builtin", "tflite-reference")


def main_ops(data: bytes) -> int:
    """Operators in the file's main subgraph (a WHILE's body not counted)."""
    return len(unpacked(data).subgraphs[0].operators)


def converted(path: Path, out: Path, **options: Any) -> Any:
    from converter import convert

    return convert(path, ConvertOptions(output_dir=out, power="off", **options))


def test_a_cnn_bilstm_gru_has_no_more_ops_than_the_stock_converters(tmp_path) -> None:
    # The stock converter fuses tf.keras's own LSTM at batch 1; converter, the same model at
    # --static-shape batch 1: as few ops in the main graph and in all, the GRU a loop in both.
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((1500, 8), batch_size=1, name="x")
    h = tf_keras.layers.Conv1D(16, 3, activation="relu")(x)
    h = tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(32, return_sequences=True))(h)
    model = tf_keras.Model(x, tf_keras.layers.Dense(3)(tf_keras.layers.GRU(16)(h)))
    model.save(tmp_path / "rnn.h5")
    stock = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    result = converted(tmp_path / "rnn.h5", tmp_path / "out", to=("tflite",), static_shape=True,
                       runtimes=("keras", *CPU_TFLITE))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    ours = (tmp_path / "out" / "rnn.tflite").read_bytes()
    counts = tflite_op_counts(ours)
    assert counts["UNIDIRECTIONAL_SEQUENCE_LSTM"] == tflite_op_counts(stock)[
        "UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2
    assert counts["WHILE"] == 1 and "TRANSPOSE" not in counts, counts
    assert main_ops(ours) <= main_ops(stock) == 12
    assert sum(counts.values()) <= sum(tflite_op_counts(stock).values())


@pytest.mark.slow
@pytest.mark.parametrize("path", [sample("conv_bilstm.h5"),
                                  REAL_MODELS / "nssa__cnn_bilstm_model.h5"],
                         ids=["conv_bilstm", "nssa"])
def test_cnn_bilstm_files_have_no_more_ops_than_the_stock_converters(tmp_path, path) -> None:
    # The tf.keras model rebuilt at batch 1 for the stock converter; converter at
    # --static-shape: 13 and 28 ops on both sides, measured.
    import tensorflow as tf
    import tf_keras

    if not path.exists():
        pytest.skip("corpus absent")
    model = tf_keras.models.load_model(path, compile=False)
    x = tf_keras.Input(batch_shape=(1, *model.inputs[0].shape[1:]))
    stock = tf.lite.TFLiteConverter.from_keras_model(tf_keras.Model(x, model(x))).convert()
    result = converted(path, tmp_path, to=("tflite",), static_shape=True,
                       runtimes=("tflite-builtin",))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    ours = (tmp_path / result.artifacts[0].path).read_bytes()
    assert sum(tflite_op_counts(ours).values()) <= sum(tflite_op_counts(stock).values())
    assert tflite_op_counts(ours)["UNIDIRECTIONAL_SEQUENCE_LSTM"] == tflite_op_counts(stock)[
        "UNIDIRECTIONAL_SEQUENCE_LSTM"]


def test_a_dynamic_batch_file_is_stateless_across_batches_and_lengths(tmp_path) -> None:
    # Its states are filled before every call: one interpreter over changing batches and
    # lengths gives what a fresh interpreter gives for each (a WHILE loop in front included,
    # whose output LiteRT sizes at run time).
    import keras
    from ai_edge_litert.interpreter import Interpreter

    x = keras.Input((None, 4), name="frames")
    h = keras.layers.SimpleRNN(5, return_sequences=True)(x)
    h = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))(h)
    keras.Model(x, keras.layers.LSTM(3, go_backwards=True)(h)).save(tmp_path / "rnn.keras")
    result = converted(tmp_path / "rnn.keras", tmp_path / "out", to=("tflite",),
                       runtimes=CPU_TFLITE)
    assert result.passed and result.artifacts[0].op_counts["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 3
    data = (tmp_path / "out" / "rnn.tflite").read_bytes()
    rng = np.random.default_rng(0)
    cases = [rng.normal(size=shape).astype(np.float32)
             for shape in ((4, 97, 4), (4, 32, 4), (1, 7, 4), (3, 200, 4))]

    def run(interpreter: Any, case: np.ndarray) -> np.ndarray:
        runner = interpreter.get_signature_runner()
        return np.asarray(next(iter(runner(frames=case).values())))

    fresh = [run(Interpreter(model_content=data), case) for case in cases]
    shared = Interpreter(model_content=data)
    again = [run(shared, case) for case in (*cases, cases[0])]
    assert [float(np.abs(a - b).max()) for a, b in zip(again, [*fresh, fresh[0]],
                                                            strict=True)] == [0.0] * 5


def test_every_lstm_variant_keeps_its_numbers_and_says_why_it_is_not_fused(tmp_path) -> None:
    import keras

    x = keras.Input((None, 5), name="x")
    fused = [
        keras.layers.LSTM(4, name="plain")(x),
        keras.layers.LSTM(4, go_backwards=True, return_sequences=True, name="backwards")(x),
        keras.layers.LSTM(4, use_bias=False, unit_forget_bias=False, name="no_bias")(x),
        *(keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=mode is None),
                                     merge_mode=mode, name=f"bi_{mode}")(x)
          for mode in ("concat", "sum", "mul", "ave")),
    ]
    looped = [
        keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", name="hard_gates")(x),
        keras.layers.LSTM(4, activation="relu", name="relu_cell")(x),
        keras.layers.LSTM(4, return_state=True, name="with_state")(x)[2],
    ]
    outputs = [keras.layers.GlobalAveragePooling1D()(o) if len(o.shape) == 3 else o
               for o in fused + looped]
    keras.Model(x, keras.layers.Concatenate()(outputs)).save(tmp_path / "variants.keras")
    result = converted(tmp_path / "variants.keras", tmp_path / "out", to=("tflite",),
                       lengths=(1, 2, 97), runtimes=("keras", *CPU_TFLITE))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    counts = result.artifacts[0].op_counts
    assert counts["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 3 + 2 * 4 and counts["WHILE"] == 3
    reasons = dict(line.split(": ", 1) for line in result.artifacts[0].lowerings)
    assert sorted(reasons) == ["hard_gates", "relu_cell", "with_state"]
    assert "recurrent_activation hard_sigmoid" in reasons["hard_gates"]
    assert "activation relu" in reasons["relu_cell"]
    assert "return_state" in reasons["with_state"]


def test_an_fp16_file_fuses_at_a_static_batch_and_loops_at_a_dynamic_one(tmp_path) -> None:
    for static in (True, False):
        result = converted(sample("conv_bilstm.h5"), tmp_path / str(static), to=("tflite",),
                           precision=("fp16",), static_shape=static, runtimes=CPU_TFLITE)
        assert result.passed, [c.reason for c in result.parity if not c.passed]
        artifact = result.artifacts[0]
        assert artifact.op_counts.get("UNIDIRECTIONAL_SEQUENCE_LSTM", 0) == (2 if static else 0)
        assert bool(artifact.lowerings) is not static
        assert all("an fp16 file at a dynamic batch" in line for line in artifact.lowerings)
