"""The NumPy reference against Keras 3 on every layer it implements beyond the samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from converter.load import load_path
from converter.normalize import normalize
from converter.reference import run_graph

pytestmark = pytest.mark.tf


def recurrent(k: Any) -> tuple[Any, Any]:
    x = k.Input((9, 3), name="x")
    a = k.layers.GRU(4, return_sequences=True, name="gru_after")(x)
    b = k.layers.GRU(4, reset_after=False, go_backwards=True, name="gru_before")(x)
    c = k.layers.SimpleRNN(5, activation="relu", name="rnn")(a)
    d = k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True), merge_mode="sum",
                               name="bigru")(a)
    e = k.layers.Bidirectional(k.layers.LSTM(2), merge_mode="ave", name="bilstm")(d)
    f = k.layers.LSTM(3, recurrent_activation="hard_sigmoid", name="lstm_hs")(x)
    return x, k.layers.Concatenate(name="out")([b, c, e, f])


def shapes(k: Any) -> tuple[Any, Any]:
    x = k.Input((8, 4), name="x")
    y = k.layers.ZeroPadding1D((2, 1), name="pad")(x)
    y = k.layers.Cropping1D((1, 2), name="crop")(y)
    y = k.layers.UpSampling1D(3, name="up")(y)
    y = k.layers.Conv1D(6, 4, strides=2, padding="same", dilation_rate=1, name="conv_s2")(y)
    y = k.layers.AveragePooling1D(3, strides=2, padding="same", name="avg_same")(y)
    y = k.layers.MaxPooling1D(2, padding="same", name="max_same")(y)
    y = k.layers.LayerNormalization(name="ln")(y)
    y = k.layers.Permute((2, 1), name="perm")(y)
    y = k.layers.Reshape((-1, 2), name="reshape")(y)
    y = k.layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same", name="dw")(y)
    y = k.layers.Conv1D(4, 3, groups=2, padding="valid", activation="gelu", name="grouped")(y)
    v = k.layers.GlobalMaxPooling1D(name="gmax")(y)
    w = k.layers.Dense(4, activation="softsign", name="dense")(k.layers.Flatten(name="flat")(y))
    r = k.layers.RepeatVector(3, name="repeat")(v)
    return x, [k.layers.Flatten(name="flat_r")(r), w]


def merges(k: Any) -> tuple[Any, Any]:
    a, b = k.Input((6,), name="a"), k.Input((6,), name="b")
    outs = [k.layers.Add(name="add")([a, b]), k.layers.Subtract(name="sub")([a, b]),
            k.layers.Multiply(name="mul")([a, b]), k.layers.Average(name="avg")([a, b]),
            k.layers.Maximum(name="max")([a, b]), k.layers.Minimum(name="min")([a, b]),
            k.layers.Dot(axes=-1, name="dot")([a, b]),
            k.layers.Dot(axes=-1, normalize=True, name="cos")([a, b]),
            k.layers.Softmax(name="softmax")(a), k.layers.ReLU(max_value=1.0, name="relu1")(b),
            k.layers.LeakyReLU(0.1, name="leaky")(a), k.layers.ELU(name="elu")(b),
            k.layers.Activation("selu", name="selu")(a),
            k.layers.Activation("swish", name="swish")(b)]
    return [a, b], k.layers.Concatenate(name="out")(outs)


BUILDERS: dict[str, Callable[[Any], tuple[Any, Any]]] = {
    "recurrent": recurrent, "shapes": shapes, "merges": merges,
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_numpy_reference_matches_keras(tmp_path: Path, name: str) -> None:
    import keras

    keras.utils.set_random_seed(5)
    inputs, outputs = BUILDERS[name](keras)
    model = keras.Model(inputs, outputs)
    for layer in model.layers:  # non-trivial biases and statistics everywhere
        layer.set_weights([np.random.default_rng(1).normal(size=w.shape).astype(np.float32) * 0.5
                           for w in layer.get_weights()])
    path = tmp_path / f"{name}.keras"
    model.save(path)
    graph, _ = normalize(load_path(path).graph)
    rng = np.random.default_rng(2)
    feeds = [rng.uniform(-2, 2, (2, *t.shape[1:])).astype(np.float32)
             for t in (inputs if isinstance(inputs, list) else [inputs])]
    expected = model(feeds if len(feeds) > 1 else feeds[0], training=False)
    expected = expected if isinstance(expected, list) else [expected]
    actual = run_graph(graph, feeds)
    for want, got in zip(expected, actual, strict=True):
        np.testing.assert_allclose(got, np.asarray(want), atol=2e-5, rtol=2e-5)
