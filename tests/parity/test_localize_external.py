"""Localisation's tensor-to-layer matching and external artifacts' name alignment (no TF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import UsageError
from converter.parity.external import align
from converter.parity.localize import aligned, mentioned, owners, scopes

GRAPH = ModelGraph(
    tuple(Layer(n, "Conv1D", {}, (LayerCall((TensorRef(p),)),)) for p, n in
          [("x", "conv1"), ("conv1", "bn1"), ("bn1", "relu1"), ("relu1", "conv1_1")]),
    (TensorRef("x"),), (TensorRef("conv1_1"),),
)


def test_fused_tensor_belongs_to_the_last_layer_it_names() -> None:
    tensors = {
        "m_1/conv1_1/BiasAdd;m_1/bn1_1/FusedBatchNorm;m_1/relu1_1/Relu": np.zeros(1),
        "m_1/conv1_1/ExpandDims": np.zeros(1),
        "m_1/conv1_1_1/Conv2D": np.zeros(1),
    }
    layers = mentioned(GRAPH, tensors)
    assert layers["m_1/conv1_1/BiasAdd;m_1/bn1_1/FusedBatchNorm;m_1/relu1_1/Relu"] == [
        "conv1", "bn1", "relu1"]
    # "conv1_1" is both the traced scope of conv1 and the raw name of layer conv1_1: the
    # traced scope wins, and conv1_1's own traced scope is conv1_1_1.
    assert layers["m_1/conv1_1/ExpandDims"] == ["conv1"]
    assert layers["m_1/conv1_1_1/Conv2D"] == ["conv1_1"]
    assert owners(layers) == {
        "relu1": ["m_1/conv1_1/BiasAdd;m_1/bn1_1/FusedBatchNorm;m_1/relu1_1/Relu"],
        "conv1": ["m_1/conv1_1/ExpandDims"], "conv1_1": ["m_1/conv1_1_1/Conv2D"]}
    assert scopes("a/b:0;c/d") == {"a", "b", "0", "c", "d"}


def test_tensors_are_compared_in_the_reference_layout() -> None:
    want = np.arange(2 * 5 * 3, dtype=np.float64).reshape(2, 5, 3)  # (N, L, C)
    nchw = np.transpose(want, (0, 2, 1))[:, :, None, :]  # (N, C, 1, L) as tf2onnx keeps it
    np.testing.assert_array_equal(aligned(nchw, want), want)
    np.testing.assert_array_equal(aligned(want[:, None], want), want)
    assert aligned(np.zeros((2, 4, 3)), want) is None


def test_external_names_align_by_name_then_containment_then_position() -> None:
    path = Path("m.tflite")
    assert align(["b", "a"], ["a", "b"], "input", path) == ("a", "b")
    assert align(["serving_default_b:0", "serving_default_a:0"], ["a", "b"], "input",
                 path) == ("serving_default_a:0", "serving_default_b:0")
    assert align(["output_0", "output_1"], ["probs", "logits"], "output", path) == (
        "output_0", "output_1")
    with pytest.raises(UsageError, match=r"m.tflite: has 1 inputs \['x'\], the model has 2"):
        align(["x"], ["a", "b"], "input", path)


def test_signature_outputs_follow_the_number_or_the_files_own_order() -> None:
    from converter.parity.runtimes.tflite_interpreter import output_keys

    # The stock converter's keys, by number (files from other tools).
    assert output_keys({"output_1": 7, "output_0": 9, "output_10": 3, "output_2": 5},
                       [3, 5, 7, 9]) == ["output_0", "output_1", "output_2", "output_10"]
    # Keys that name the outputs (converter's files): the subgraph's output order.
    assert output_keys({"apooled": 14, "zstep": 24}, [24, 14]) == ["zstep", "apooled"]


def test_a_model_output_is_its_layers_though_its_name_reads_as_another_scope() -> None:
    # Scope "conv1_1" is layer conv1 (TF's suffix); the output tensor named "conv1_1" (the
    # I/O contract names outputs after their layers) is layer conv1_1's output.
    tensors = {"conv1_1": np.zeros(1), "m/conv1_1/BiasAdd": np.zeros(1)}
    layers = mentioned(GRAPH, tensors)
    assert layers == {"conv1_1": ["conv1_1"], "m/conv1_1/BiasAdd": ["conv1"]}
