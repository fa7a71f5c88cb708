"""`--dynamic-length`: which inputs open, which models are refused and why (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import UsageError
from converter.graph.pipeline import prepare
from converter.normalize.dynamic_length import DynamicLength
from converter.options import ConvertOptions


def weights(*shapes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    return tuple(np.zeros(shape, np.float32) for shape in shapes)


def chain(first: Layer, *rest: Layer) -> ModelGraph:
    """first -> rest[0] -> rest[1] ... as a graph: each layer reads the one before."""
    layers, previous = [first], first.name
    for layer in rest:
        layers.append(Layer(layer.name, layer.class_name, layer.config,
                            (LayerCall((TensorRef(previous),)),), layer.weights))
        previous = layer.name
    return ModelGraph(tuple(layers), (TensorRef(first.name),), (TensorRef(previous),))


def sequence(length: int | None = 40, channels: int = 4) -> Layer:
    return Layer("x", "InputLayer", {"batch_shape": [None, length, channels]})


CONV = Layer("conv", "Conv1D", {"filters": 8, "kernel_size": (3,), "strides": (2,),
                                "padding": "valid"}, weights=weights((3, 4, 8), (8,)))
POOL = Layer("pool", "MaxPooling1D", {"pool_size": (2,), "strides": (2,), "padding": "valid"})
LSTM = Layer("rnn", "LSTM", {"units": 5}, weights=weights((8, 20), (5, 20), (20,)))


def test_a_conv_lstm_classifier_takes_any_length() -> None:
    graph = chain(sequence(), CONV, POOL, LSTM,
                  Layer("head", "Dense", {"units": 3}, weights=weights((5, 3), (3,))))
    result = DynamicLength()(graph)
    assert result.modified and result.changes == ("x: steps axis 1 -> dynamic",)
    assert result.graph.layer("x").config["batch_shape"] == [None, None, 4]
    again = DynamicLength()(result.graph)
    assert not again.modified and again.graph == result.graph


def test_a_flatten_before_a_dense_ties_the_model_and_both_are_named() -> None:
    graph = chain(sequence(), CONV, Layer("flat", "Flatten", {}),
                  Layer("head", "Dense", {"units": 3}, weights=weights((19 * 8, 3), (3,))))
    with pytest.raises(UsageError) as refused:
        DynamicLength()(graph)
    assert ("layer head (Dense), whose weights fit one size of flat's output"
            in refused.value.message)
    assert "declared length {'x': 40}" in refused.value.message


def test_a_flatten_of_a_vector_does_not_tie_it() -> None:
    # LSTM(return_sequences=False) -> Flatten -> Dense: the Flatten's size is the units'.
    graph = chain(sequence(), CONV, LSTM, Layer("flat", "Flatten", {}),
                  Layer("head", "Dense", {"units": 3}, weights=weights((5, 3), (3,))))
    assert DynamicLength()(graph).modified


def test_a_reshape_to_a_fixed_length_ties_it() -> None:
    graph = chain(sequence(), CONV, Layer("fold", "Reshape", {"target_shape": (19, 8)}), LSTM)
    with pytest.raises(UsageError, match="layer fold .Reshape., whose output shape fits no "
                                         "other length"):
        DynamicLength()(graph)
    opened = chain(sequence(), CONV, Layer("fold", "Reshape", {"target_shape": (-1, 8)}), LSTM)
    assert DynamicLength()(opened).modified


def test_token_ids_open_their_steps_and_the_vocabulary_is_not_a_length() -> None:
    tokens = Layer("ids", "InputLayer", {"batch_shape": [None, 24], "dtype": "int32"})
    embed = Layer("embed", "Embedding", {"input_dim": 30, "output_dim": 4},
                  weights=weights((30, 4)))
    result = DynamicLength()(chain(tokens, embed, CONV))
    assert result.graph.layer("ids").config["batch_shape"] == [None, None]
    # the vocabulary has the length's size: still not sized by the length (24 -> 25)
    same_size = Layer("embed", "Embedding", {"input_dim": 25, "output_dim": 4},
                      weights=weights((25, 4)))
    assert DynamicLength()(chain(tokens, same_size, CONV)).modified


def test_a_channels_first_input_opens_its_last_axis() -> None:
    graph = chain(Layer("x", "InputLayer", {"batch_shape": [None, 4, 40]}),
                  Layer("x_to_channels_last", "Permute", {"dims": (2, 1)}), CONV)
    assert DynamicLength()(graph).graph.layer("x").config["batch_shape"] == [None, 4, None]


def test_a_model_without_a_sequence_input_is_refused() -> None:
    graph = chain(Layer("x", "InputLayer", {"batch_shape": [None, 6]}),
                  Layer("head", "Dense", {"units": 3}, weights=weights((6, 3), (3,))))
    with pytest.raises(UsageError, match="no sequence input"):
        DynamicLength()(graph)


def test_with_static_shape_the_files_take_another_static_length() -> None:
    graph = chain(sequence(), CONV, POOL, LSTM)
    prepared = prepare(graph, ConvertOptions(dynamic_length=True, static_shape=True,
                                             static_length=1500, to=("tflite",)))
    assert prepared.checked.layer("x").config["batch_shape"] == [1, 1500, 4]
    names = [r.name for r in prepared.records if r.modified]
    assert names.index("dynamic_length") < names.index("static_shape")
    with pytest.raises(UsageError, match="needs --static-length"):
        prepare(graph, ConvertOptions(dynamic_length=True, static_shape=True))


def test_a_signature_only_savedmodel_is_refused() -> None:
    with pytest.raises(UsageError, match="needs the model's layers"):
        prepare(chain(sequence(), CONV), ConvertOptions(dynamic_length=True), True)
