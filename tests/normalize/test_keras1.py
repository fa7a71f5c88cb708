"""Keras 1 vocabulary, Merge, Theano kernels and hard_sigmoid passes, on hand-built graphs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import LoadError, UnsupportedLayersError
from converter.load.backend import decide_backend
from converter.normalize import (
    keras1_layers,
    legacy_hard_sigmoid,
    legacy_merge,
    normalize,
    theano_kernels,
)

RNG = np.random.default_rng(7)


def chain(*layers: Layer, source: str = "1", convention: str = "cross-correlation") -> ModelGraph:
    """A Sequential-style graph: each layer reads the previous one."""
    linked = [layers[0]] + [replace(x, calls=(LayerCall((TensorRef(p.name),)),))
                            for p, x in zip(layers, layers[1:], strict=False)]
    return ModelGraph(tuple(linked), (TensorRef(layers[0].name),), (TensorRef(layers[-1].name),),
                      "m", convention, source)


INPUT = Layer("in", "InputLayer", {"batch_input_shape": [None, 20, 3], "input_dtype": "float32",
                                   "sparse": False, "name": "in"})
CONV1 = {"name": "conv", "nb_filter": 4, "filter_length": 5, "border_mode": "same",
         "subsample_length": 1, "activation": "relu", "init": "glorot_uniform", "bias": True,
         "W_regularizer": None, "b_regularizer": None, "activity_regularizer": None,
         "W_constraint": None, "b_constraint": None, "input_dim": 3, "input_length": None,
         "trainable": True}


def test_convolution1d_becomes_conv1d_with_every_key_mapped() -> None:
    kernel = RNG.normal(size=(5, 1, 3, 4))
    graph = chain(INPUT, Layer("conv", "Convolution1D", CONV1, weights=(kernel, np.zeros(4))))
    result = keras1_layers.PASS(graph)
    conv = result.graph.layer("conv")
    assert conv.class_name == "Conv1D"
    assert conv.config == {"name": "conv", "filters": 4, "kernel_size": [5], "padding": "same",
                           "strides": [1], "activation": "relu", "use_bias": True,
                           "trainable": True}
    np.testing.assert_array_equal(conv.weights[0], kernel[:, 0])
    assert result.graph.layer("in").config == {"batch_shape": [None, 20, 3], "dtype": "float32",
                                               "name": "in"}
    assert any("W_regularizer dropped (training only" in c for c in result.changes)
    assert keras1_layers.PASS(result.graph).modified is False


def test_older_out_in_k_1_kernel_layout_is_transposed() -> None:
    reference = RNG.normal(size=(5, 3, 4))
    old = np.transpose(reference[:, None], (3, 2, 0, 1))  # (out, in, k, 1)
    graph = chain(INPUT, Layer("conv", "Convolution1D", CONV1, weights=(old, np.zeros(4))))
    np.testing.assert_array_equal(keras1_layers.PASS(graph).graph.layer("conv").weights[0],
                                  reference)


def test_atrous_rate_and_pooling_keys() -> None:
    atrous = {**CONV1, "atrous_rate": 2}
    pool = {"name": "pool", "pool_length": 3, "stride": None, "border_mode": "valid",
            "trainable": True}
    graph = chain(INPUT, Layer("conv", "AtrousConvolution1D", atrous,
                               weights=(RNG.normal(size=(5, 1, 3, 4)), np.zeros(4))),
                  Layer("pool", "MaxPooling1D", pool))
    out = keras1_layers.PASS(graph).graph
    assert out.layer("conv").config["dilation_rate"] == [2]
    assert out.layer("pool").config == {"name": "pool", "pool_size": [3], "strides": None,
                                        "padding": "valid", "trainable": True}


def lstm_config(name: str) -> dict:
    return {"name": name, "output_dim": 2, "inner_activation": "hard_sigmoid",
            "activation": "tanh", "init": "glorot_uniform", "inner_init": "orthogonal",
            "forget_bias_init": "one", "consume_less": "cpu", "dropout_W": 0.1, "dropout_U": 0.2,
            "return_sequences": False, "go_backwards": False, "stateful": False, "unroll": False,
            "W_regularizer": None, "U_regularizer": None, "b_regularizer": None,
            "input_dim": 3, "input_length": None, "trainable": True}


def gate_arrays(prefix: str, gates: str) -> tuple[list[np.ndarray], list[str], dict]:
    """Per-gate arrays in Keras 1 storage order, their names, and a lookup by (kind, gate)."""
    arrays, names, lookup = [], [], {}
    for gate in gates:
        for kind, shape in (("W", (3, 2)), ("U", (2, 2)), ("b", (2,))):
            value = RNG.normal(size=shape)
            arrays.append(value)
            names.append(f"{prefix}_{kind}_{gate}")
            lookup[(kind, gate)] = value
    return arrays, names, lookup


@pytest.mark.parametrize("named", [True, False], ids=["by-name", "by-storage-order"])
def test_lstm_gates_fuse_in_keras2_order(named: bool) -> None:
    arrays, names, lookup = gate_arrays("lstm_1", "icfo")  # Keras 1 stores i, c, f, o
    layer = Layer("lstm", "LSTM", lstm_config("lstm"), weights=tuple(arrays),
                  weight_names=tuple(names) if named else ())
    fused = keras1_layers.PASS(chain(INPUT, layer)).graph.layer("lstm")
    assert fused.config["units"] == 2 and fused.config["recurrent_activation"] == "hard_sigmoid"
    assert fused.config["dropout"] == 0.1 and fused.config["recurrent_dropout"] == 0.2
    for index, kind in enumerate("WUb"):
        expected = np.concatenate([lookup[(kind, g)] for g in "ifco"], axis=-1)
        np.testing.assert_array_equal(fused.weights[index], expected)


def test_gru_and_bidirectional_halves() -> None:
    fw, fw_names, fw_lookup = gate_arrays("forward_gru_1", "zrh")
    bw, bw_names, bw_lookup = gate_arrays("backward_gru_1", "zrh")
    config = {"name": "bi", "merge_mode": "concat", "trainable": True,
              "layer": {"class_name": "GRU", "config": lstm_config("gru_1")}}
    layer = Layer("bi", "Bidirectional", config, weights=tuple(fw + bw),
                  weight_names=tuple(fw_names + bw_names))
    out = keras1_layers.PASS(chain(INPUT, layer)).graph.layer("bi")
    assert out.config["layer"]["class_name"] == "GRU"
    assert out.config["layer"]["config"]["reset_after"] is False
    assert [w.shape for w in out.weights] == [(3, 6), (2, 6), (6,)] * 2
    np.testing.assert_array_equal(
        out.weights[3], np.concatenate([bw_lookup[("W", g)] for g in "zrh"], axis=-1))
    np.testing.assert_array_equal(
        out.weights[2], np.concatenate([fw_lookup[("b", g)] for g in "zrh"], axis=-1))


def test_unknown_keras1_key_stops_naming_layer_and_key() -> None:
    graph = chain(INPUT, Layer("conv", "Convolution1D", {**CONV1, "mystery": 3},
                               weights=(RNG.normal(size=(5, 1, 3, 4)), np.zeros(4))))
    with pytest.raises(LoadError, match=r"layer conv \(Convolution1D\): Keras 1 config key "
                                        r"'mystery'=3 is not understood"):
        keras1_layers.PASS(graph)


def test_full_border_mode_and_stateful_are_refused() -> None:
    graph = chain(INPUT, Layer("conv", "Convolution1D", {**CONV1, "border_mode": "full"},
                               weights=(RNG.normal(size=(5, 1, 3, 4)), np.zeros(4))))
    with pytest.raises(LoadError, match=r"layer conv: border_mode: 'full' has no Keras 3"):
        keras1_layers.PASS(graph)
    stateful = Layer("lstm", "LSTM", {**lstm_config("lstm"), "stateful": True})
    with pytest.raises(LoadError, match=r"layer lstm: stateful: True cannot be converted"):
        keras1_layers.PASS(chain(INPUT, stateful))


def test_keras2_graph_with_the_same_class_names_is_untouched() -> None:
    dense = Layer("d", "Dense", {"name": "d", "units": 3, "activation": "relu",
                                 "activity_regularizer": None})
    assert keras1_layers.PASS(chain(INPUT, dense, source="2")).modified is False


MERGES = [("concat", "Concatenate", {"axis": -1}), ("sum", "Add", {}), ("mul", "Multiply", {}),
          ("ave", "Average", {}), ("max", "Maximum", {}), ("dot", "Dot", {"axes": -1,
          "normalize": False}), ("cos", "Dot", {"axes": -1, "normalize": True})]


@pytest.mark.parametrize(("mode", "target", "extra"), MERGES, ids=[m[0] for m in MERGES])
def test_merge_modes(mode: str, target: str, extra: dict) -> None:
    merge = Layer("m", "Merge", {"name": "m", "mode": mode, "concat_axis": -1, "dot_axes": -1,
                                 "mode_type": "raw", "output_shape": None,
                                 "output_shape_type": "raw"},
                  (LayerCall((TensorRef("a"), TensorRef("b")), True),))
    graph = ModelGraph((Layer("a", "InputLayer", {}), Layer("b", "InputLayer", {}), merge),
                       (TensorRef("a"), TensorRef("b")), (TensorRef("m"),))
    result = legacy_merge.PASS(graph)
    out = result.graph.layer("m")
    assert (out.class_name, out.config) == (target, {"name": "m", "trainable": True, **extra})
    assert out.calls == merge.calls
    assert legacy_merge.PASS(result.graph).modified is False


def test_merge_with_a_function_mode_is_refused() -> None:
    merge = Layer("m", "Merge", {"name": "m", "mode": ["code", None, None],
                                 "mode_type": "lambda"})
    graph = ModelGraph((merge,), (), (TensorRef("m"),))
    with pytest.raises(UnsupportedLayersError, match=r"m \(Merge with a Python function"):
        legacy_merge.PASS(graph)


def test_theano_kernels_are_reversed_once() -> None:
    kernel = RNG.normal(size=(5, 3, 4))
    graph = chain(INPUT, Layer("conv", "Conv1D", {"name": "conv"}, weights=(kernel, np.zeros(4))),
                  convention="convolution")
    result = theano_kernels.PASS(graph)
    np.testing.assert_array_equal(result.graph.layer("conv").weights[0], kernel[::-1])
    assert result.graph.kernel_convention == "cross-correlation"
    assert theano_kernels.PASS(result.graph).modified is False


def test_hard_sigmoid_keeps_its_keras2_slope_only_for_keras1_and_2_sources() -> None:
    config = {"name": "bi", "layer": {"class_name": "LSTM",
                                      "config": {"recurrent_activation": "hard_sigmoid"}}}
    for source, expected in (("1", "keras2_hard_sigmoid"), ("2", "keras2_hard_sigmoid"),
                             ("3", "hard_sigmoid")):
        graph = chain(INPUT, Layer("bi", "Bidirectional", config), source=source)
        out = legacy_hard_sigmoid.PASS(graph).graph.layer("bi")
        assert out.config["layer"]["config"]["recurrent_activation"] == expected


def test_every_pass_is_idempotent_on_a_keras1_graph() -> None:
    arrays, names, _ = gate_arrays("lstm_1", "icfo")
    graph = chain(INPUT, Layer("conv", "Convolution1D", CONV1,
                               weights=(RNG.normal(size=(5, 1, 3, 4)), np.zeros(4))),
                  Layer("drop", "Dropout", {"name": "drop", "p": 0.5}),
                  Layer("lstm", "LSTM", {**lstm_config("lstm"), "input_dim": 4},
                        weights=tuple(arrays), weight_names=tuple(names)),
                  convention="convolution")
    once, _ = normalize(graph)
    assert [x.class_name for x in once.layers] == ["InputLayer", "Conv1D", "LSTM"]
    _, records = normalize(once)
    assert [r.name for r in records if r.modified] == []


@pytest.mark.parametrize(
    ("override", "attribute", "config", "names", "expected"),
    [
        ("theano", "tensorflow", {}, ["w:0"], ("theano", "--source-backend given")),
        (None, "theano", {}, ["w:0"], ("theano", "the file's backend attribute ('theano')")),
        (None, None, {"layers": [{"config": {"dim_ordering": "th"}}]}, ["w:0"],
         ("theano", "dim_ordering 'th' in the layer configs")),
        (None, None, {}, ["conv_W", "conv_b"],
         ("theano", "no ':0' suffix on any of 2 weight names (Theano)")),
        (None, None, {}, ["conv_W:0", "conv_b:0"],
         ("tensorflow", "':0' suffixes on 2 of 2 weight names")),
    ],
    ids=["override", "attribute", "dim-ordering", "names-theano", "names-tf"],
)
def test_backend_decision(override, attribute, config, names, expected) -> None:
    assert decide_backend(override, attribute, config, names) == expected


def test_unknown_backend_attribute_asks_for_source_backend() -> None:
    with pytest.raises(LoadError, match="pass --source-backend"):
        decide_backend(None, "cntk", {}, [])


def test_unknown_keras1_classes_are_listed_all_at_once() -> None:
    graph = chain(INPUT, Layer("c2", "Convolution2D", {"name": "c2"}),
                  Layer("hw", "Highway", {"name": "hw"}))
    with pytest.raises(UnsupportedLayersError, match=r"c2 \(Keras 1 class Convolution2D has no "
                                                     r"Keras 3 mapping\); hw \(Keras 1 class "
                                                     r"Highway"):
        keras1_layers.PASS(graph)
