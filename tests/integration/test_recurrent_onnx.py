"""Every recurrent layer one ONNX node: GRU, SimpleRNN and LSTMs with other functions too."""

from __future__ import annotations

import pytest

from converter.options import ConvertOptions

pytestmark = pytest.mark.tf


def test_gru_simple_rnn_and_hard_sigmoid_lstm_are_one_onnx_node_each(tmp_path) -> None:
    import keras
    import onnx

    from converter import convert

    x = keras.Input((None, 4), name="frames")
    a = keras.layers.SimpleRNN(5, return_sequences=True, name="rnn")(x)
    b = keras.layers.GRU(5, return_sequences=True, name="gru_after")(a)
    outputs = [
        keras.layers.GRU(4, reset_after=False, go_backwards=True, name="gru_before")(b),
        keras.layers.LSTM(3, recurrent_activation="hard_sigmoid", name="hard_lstm")(b),
        keras.layers.Bidirectional(keras.layers.GRU(3), name="bigru")(a),
        keras.layers.Bidirectional(keras.layers.SimpleRNN(3, return_sequences=True),
                                   merge_mode="ave", name="birnn")(a),
        keras.layers.SimpleRNN(2, activation="relu", use_bias=False, name="relu_rnn")(a),
        keras.layers.GRU(2, return_state=True, name="gru_state")(b)[1],
    ]
    outputs = [keras.layers.GlobalAveragePooling1D()(o) if len(o.shape) == 3 else o
               for o in outputs]
    keras.Model(x, keras.layers.Concatenate()(outputs)).save(tmp_path / "rnn.keras")
    result = convert(tmp_path / "rnn.keras", ConvertOptions(
        output_dir=tmp_path / "out", to=("onnx",), power="off", lengths=(1, 2, 97),
        runtimes=("keras", "ort-cpu", "ort-cpu-noopt")))
    assert result.passed, [c.reason for c in result.parity if not c.passed]
    counts = result.artifacts[0].op_counts
    # the Bidirectional GRU is one bidirectional node
    assert (counts["RNN"], counts["GRU"], counts["LSTM"]) == (3, 4, 1) and "Loop" not in counts
    graph = onnx.load(tmp_path / "out" / "rnn.onnx").graph
    functions = {n.op_type: [a.strings for a in n.attribute if a.name == "activations"]
                 for n in graph.node if n.op_type == "LSTM"}
    assert functions["LSTM"] == [[b"HardSigmoid", b"Tanh", b"Tanh"]]
    reset = sorted(a.i for n in graph.node if n.op_type == "GRU" for a in n.attribute
                   if a.name == "linear_before_reset")
    assert reset == [0, 1, 1, 1]  # reset_after=False once, Keras 3's default otherwise
    directions = sorted(a.s for n in graph.node for a in n.attribute if a.name == "direction")
    assert directions == [b"bidirectional"] * 2 + [b"forward"] * 6
