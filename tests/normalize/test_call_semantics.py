"""Call arguments as the files record them, and the passes that read them (no TensorFlow).

Keras 2 nodes ([[layer, node, tensor, kwargs]], tf.keras's flat TF-op entry, its
_CONSTANT_VALUE first argument), Keras 3 nodes ({"args", "kwargs"}), training-mode calls and
TF-op layers.
"""

from __future__ import annotations

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import NormalizeError, UnsupportedLayersError
from converter.graph.call_args import call_arguments
from converter.load.config_graph import parse_node
from converter.normalize.call_arguments import PASS as CALLS
from converter.normalize.call_arguments import training_calls
from converter.normalize.tf_op_layers import PASS as TF_OPS
from converter.reference.interpreter import run_graph

NAMES = frozenset({"conv", "mha", "in"})


def keras3_tensor(name: str, index: int = 0) -> dict[str, object]:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, index]}}


def test_a_keras2_keyword_tensor_becomes_a_placeholder_and_a_number_stays() -> None:
    call = parse_node([["conv", 0, 0, {"y": ["mha", 0, 0], "alpha": [1, 2, 3], "name": None}]],
                      "add", NAMES)
    assert call.inputs == (TensorRef("conv"), TensorRef("mha"))
    assert call.kwargs == {"y": {"__tensor__": 1}, "alpha": [1, 2, 3], "name": None}
    assert call_arguments(["c", "m"], call.list_input, call.kwargs) == (
        ["c"], {"y": "m", "alpha": [1, 2, 3], "name": None})


def test_tf_keras_flat_entry_and_constant_first_argument() -> None:
    flat = parse_node(["conv", 0, 0, {"name": None}], "relu", NAMES)
    assert flat.inputs == (TensorRef("conv"),) and not flat.list_input
    constant = parse_node([["_CONSTANT_VALUE", -1, 1.0, {"y": ["conv", 0, 0]}]], "sub", NAMES)
    assert constant.inputs == (TensorRef("conv"),)
    assert call_arguments(["c"], constant.list_input, constant.kwargs) == ([1.0], {"y": "c"})


def test_keras3_positional_and_keyword_tensors_and_dropped_masks() -> None:
    node = {"args": [keras3_tensor("in"), keras3_tensor("conv")],
            "kwargs": {"mask": keras3_tensor("in"), "attention_mask": keras3_tensor("mha"),
                       "training": True}}
    call = parse_node(node, "mha", NAMES)
    assert call.inputs == (TensorRef("in"), TensorRef("mha"), TensorRef("conv"))
    assert call.kwargs == {"attention_mask": {"__tensor__": 1}, "training": True,
                           "__args__": [{"__tensor__": 2}]}
    assert call_arguments(["i", "m", "c"], False, call.kwargs) == (
        ["i", "c"], {"attention_mask": "m", "training": True})


def chain(*layers: Layer) -> ModelGraph:
    first = Layer("in", "InputLayer", {"batch_shape": [None, 6, 2], "dtype": "float32"})
    return ModelGraph((first, *layers), (TensorRef("in"),), (TensorRef(layers[-1].name),))


def called(name: str, class_name: str, config: dict, source: str = "in", **kwargs) -> Layer:
    return Layer(name, class_name, config, (LayerCall((TensorRef(source),), False, kwargs),))


def test_training_calls_are_noted_and_dropped_and_false_ones_dropped_silently() -> None:
    graph = chain(called("mc", "Dropout", {"rate": 0.5}, training=True),
                  called("bn", "BatchNormalization", {}, "mc", training=False),
                  called("dense", "Dense", {"units": 2}, "bn", training=True))
    assert [(c.layer, c.stochastic) for c in training_calls(graph)] == [("mc", True)]
    result = CALLS(graph)
    assert all(not c.kwargs for x in result.graph.layers for c in x.calls)
    assert result.changes == ("mc: called with training=True, so it drops random inputs "
                              "(Monte-Carlo dropout) at inference in the source model; exported "
                              "(and checked against the source run) in inference mode",)


def test_an_unknown_call_keyword_is_refused_naming_layer_and_keyword() -> None:
    graph = chain(called("lstm", "LSTM", {"units": 2}, initial_state=[{"__tensor__": 0}]),
                  called("gap", "GlobalAveragePooling1D", {}, "lstm", mask=None),
                  called("mine", "MyLayer", {}, "gap", anything=3))
    with pytest.raises(UnsupportedLayersError, match=r"lstm \(its call keyword "
                       r"'initial_state'\)\. converter does not know"):
        CALLS(graph)
    graph = chain(called("gap", "GlobalAveragePooling1D", {}, mask=None),
                  called("mine", "MyLayer", {}, "gap", anything=3))
    assert CALLS(graph).graph.layer("mine").calls[0].kwargs == {"anything": 3}


def tf_op(layer: str, function: str, inputs: tuple[str, ...], listed: bool = False,
          **kwargs) -> Layer:
    refs = tuple(TensorRef(r) for r in inputs)
    return Layer(layer, "TFOpLambda", {"name": layer, "function": function},
                 (LayerCall(refs, listed, kwargs),))


def test_tf_op_layers_compute_what_tensorflow_would() -> None:
    """A split into two pieces, both read; a keyword tensor; a constant first argument."""
    graph = chain(
        tf_op("split", "split", ("in",), num_or_size_splits=2, axis=2, name=None),
        Layer("sq", "TFOpLambda", {"function": "math.square"},
              (LayerCall((TensorRef("split", 0, 1),)),)),
        tf_op("sum", "math.add", ("split", "sq"), y={"__tensor__": 1}),
        tf_op("flip", "math.subtract", ("sum",), __first__=1.0, y={"__tensor__": 0}))
    result = TF_OPS(graph)
    assert [x.class_name for x in result.graph.layers[1:]] == ["TFOp"] * 5
    assert result.graph.layer("sq").calls[0].inputs == (TensorRef("split_piece1"),)
    assert "split: tf.split -> TFOp (2 pieces)" in result.changes
    x = np.random.default_rng(0).normal(size=(3, 6, 2))
    (got,) = run_graph(result.graph, [x])
    assert np.allclose(got, 1.0 - (x[..., :1] + x[..., 1:] ** 2), atol=1e-6)


def test_tf_op_layers_refuse_unknown_functions_and_arguments_all_at_once() -> None:
    graph = chain(tf_op("fft", "signal.rfft", ("in",)),
                  tf_op("mean", "math.reduce_mean", ("fft",), axis=1, where=True))
    with pytest.raises(UnsupportedLayersError) as caught:
        TF_OPS(graph)
    assert [name for name, _ in caught.value.problems] == ["fft", "mean"]
    assert "tf.signal.rfft: not a function converter computes" in str(caught.value)
    assert "tf.math.reduce_mean with the argument 'where'" in str(caught.value)


def test_the_pipeline_names_the_pass_that_refused() -> None:
    from converter.normalize import normalize

    with pytest.raises(NormalizeError, match="pass tf_op_layers failed"):
        normalize(chain(tf_op("fft", "signal.rfft", ("in",))))


def keras_op(layer: str, operation: str, inputs: tuple[str, ...], settings: dict | None = None,
             **kwargs) -> Layer:
    refs = tuple(TensorRef(r) for r in inputs)
    return Layer(layer, "KerasOp", {"name": layer, "operation": operation, **(settings or {})},
                 (LayerCall(refs, False, kwargs),))


def test_keras3_operations_take_positional_tensors_and_settings() -> None:
    graph = chain(
        keras_op("sum", "numpy.Add", ("in", "in"), __args__=[{"__tensor__": 1}]),
        keras_op("mean", "numpy.Mean", ("sum",), {"axis": 1, "keepdims": True}),
        keras_op("scaled", "numpy.Multiply", ("mean",), __args__=[0.5]),
        keras_op("leaky", "nn.LeakyRelu", ("scaled",), {"negative_slope": 0.1}))
    result = TF_OPS(graph)
    assert "sum: keras.ops numpy.Add -> TFOp" in result.changes
    assert result.graph.layer("mean").config["arguments"] == {
        "input_tensor": {"__tensor__": 0}, "axis": 1, "keepdims": True}
    x = np.random.default_rng(1).normal(size=(2, 6, 2))
    (got,) = run_graph(result.graph, [x])
    want = (x + x).mean(axis=1, keepdims=True) * 0.5
    assert np.allclose(got, np.where(want > 0, want, 0.1 * want))


def test_a_keras3_operation_outside_the_table_is_refused_naming_it() -> None:
    with pytest.raises(UnsupportedLayersError, match=r"cs \(keras.ops numpy.Cumsum: not a "
                                                     r"function converter computes"):
        TF_OPS(chain(keras_op("cs", "numpy.Cumsum", ("in",), {"axis": 1})))
