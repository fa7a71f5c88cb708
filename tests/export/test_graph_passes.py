"""The export passes (valid_windows, conv_batchnorm) on hand-built SpliceAI-shaped graphs.

No TensorFlow: the NumPy reference interpreter runs the graph before and after, and the
outputs must be the same numbers (a "valid" conv computes the same dot products at the
positions kept; a folded batch norm is the same affine map).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.reference import run_graph
from converter.export.graph_passes import conv_batchnorm, valid_windows
from converter.graph.passes import PassResult

RNG = np.random.default_rng(11)
C = 6



def with_valid_windows(graph: ModelGraph) -> tuple[ModelGraph, PassResult]:
    """The valid_windows pass's graph and its result."""
    result = valid_windows.PASS(graph)
    return result.graph, result


def with_folded_batchnorms(graph: ModelGraph) -> tuple[ModelGraph, PassResult]:
    """The conv_batchnorm pass's graph and its result."""
    result = conv_batchnorm.PASS(graph)
    return result.graph, result


def layer(name: str, class_name: str, config: dict[str, Any], inputs: tuple[str, ...],
          weights: tuple[np.ndarray, ...] = ()) -> Layer:
    call = LayerCall(tuple(TensorRef(i) for i in inputs), list_input=len(inputs) > 1)
    return Layer(name, class_name, {"name": name, **config}, (call,), weights)


def conv(name: str, source: str, kernel: int, dilation: int = 1, filters: int = C,
         channels: int = C, padding: str = "same", activation: str = "linear") -> Layer:
    return layer(name, "Conv1D", {
        "filters": filters, "kernel_size": [kernel], "strides": [1], "padding": padding,
        "dilation_rate": [dilation], "data_format": "channels_last", "activation": activation,
        "use_bias": True}, (source,), (RNG.normal(size=(kernel, channels, filters)),
                                       RNG.normal(size=filters)))


def unit(prefix: str, source: str, dilation: int) -> list[Layer]:
    """A SpliceAI residual unit: BN, relu, conv, BN, relu, conv, + shortcut."""
    layers, current = [], source
    for step in ("a", "b"):
        stats = (RNG.uniform(0.5, 1.5, C), RNG.normal(size=C), RNG.normal(size=C),
                 RNG.uniform(0.5, 1.5, C))
        layers += [layer(f"{prefix}_bn{step}", "BatchNormalization",
                         {"axis": -1, "epsilon": 1e-3}, (current,), stats),
                   layer(f"{prefix}_relu{step}", "Activation", {"activation": "relu"},
                         (f"{prefix}_bn{step}",)),
                   conv(f"{prefix}_conv{step}", f"{prefix}_relu{step}", 5, dilation)]
        current = f"{prefix}_conv{step}"
    return [*layers, layer(f"{prefix}_add", "Add", {}, (source, current))]


def tower(crop: int) -> ModelGraph:
    """input -> 1x1 conv -> units of dilation 1 and 2 (reach 2 + 2 + 4 + 4 = 12 per side)
    with a 1x1 skip -> Cropping1D(crop) -> softmax head."""
    layers = [Layer("x", "InputLayer", {"name": "x", "batch_shape": [None, None, 3]}),
              conv("stem", "x", 1, channels=3), conv("skip", "stem", 1)]
    layers += unit("u1", "stem", 1) + unit("u2", "u1_add", 2)
    layers += [conv("dense", "u2_add", 1), layer("sum", "Add", {}, ("skip", "dense")),
               layer("crop", "Cropping1D", {"cropping": [crop, crop]}, ("sum",)),
               conv("head", "crop", 1, filters=3, activation="softmax")]
    return ModelGraph(tuple(layers), (TensorRef("x"),), (TensorRef("head"),))


@pytest.mark.parametrize(("crop", "expected_crop"), [(12, None), (15, [3, 3])])
def test_convs_whose_edges_the_crop_discards_pad_nothing(crop, expected_crop) -> None:
    graph = tower(crop)
    windowed, record = with_valid_windows(graph)
    assert record.modified
    convs = {x.name: x.config["padding"] for x in windowed.layers if x.class_name == "Conv1D"}
    assert convs == {"stem": "same", "skip": "same", "dense": "same", "head": "same",
                     "u1_conva": "valid", "u1_convb": "valid",
                     "u2_conva": "valid", "u2_convb": "valid"}
    crops = {x.name: x.config["cropping"] for x in windowed.layers
             if x.class_name == "Cropping1D"}
    # each shortcut loses what its unit's convs no longer produce; the skip what all do
    assert crops == {"u1_add_crop": [4, 4], "u2_add_crop": [8, 8], "sum_crop": [12, 12],
                     **({"crop": expected_crop} if expected_crop else {})}
    assert ("crop: removed, the convs before it already drop (12, 12)" in record.changes) == (
        expected_crop is None)
    assert "u2_conva: padding same -> valid (4 + 4 edge positions no output reads)" in (
        record.changes)
    for length in (2 * crop + 1, 40, 57):
        x = RNG.normal(size=(2, length, 3))
        before, after = run_graph(graph, [x])[0], run_graph(windowed, [x])[0]
        assert before.shape == after.shape == (2, length - 2 * crop, 3)
        np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-7)
    assert with_valid_windows(windowed)[1].changes == ()  # nothing left to trim


def test_a_crop_shorter_than_the_reach_leaves_the_early_convs_same() -> None:
    graph = tower(6)  # covers u2's two convs (4 + 4 > 6: only the last one) and no more
    windowed, record = with_valid_windows(graph)
    convs = {x.name: x.config["padding"] for x in windowed.layers if x.class_name == "Conv1D"}
    assert [name for name, padding in convs.items() if padding == "valid"] == ["u2_convb"]
    assert windowed.layer("crop").config["cropping"] == [2, 2]
    x = RNG.normal(size=(1, 33, 3))
    np.testing.assert_allclose(run_graph(windowed, [x])[0], run_graph(graph, [x])[0],
                               rtol=1e-6, atol=1e-7)


def test_a_tensor_an_output_reads_uncropped_keeps_every_position() -> None:
    graph = tower(12)
    graph = ModelGraph(graph.layers, graph.inputs, (*graph.outputs, TensorRef("u2_add")))
    windowed, record = with_valid_windows(graph)
    changed = {c.split(":")[0] for c in record.changes}
    assert not {"u1_conva", "u1_convb", "u2_conva", "u2_convb"} & changed
    assert windowed.layer("u2_convb").config["padding"] == "same"


def test_a_graph_without_a_crop_is_left_alone() -> None:
    graph = tower(12)
    layers = tuple(x for x in graph.layers if x.name not in ("crop", "head"))
    plain = ModelGraph(layers, graph.inputs, (TensorRef("sum"),))
    windowed, record = with_valid_windows(plain)
    assert windowed is plain and not record.modified


def test_a_batchnorm_after_a_conv_folds_into_its_kernel_and_bias() -> None:
    graph = tower(12)
    folded, record = with_folded_batchnorms(graph)
    # u1_bnb and u2_bnb follow a conv; u1_bna and u2_bna follow an Add and stay
    assert record.changes == ("u1_bnb: folded into u1_conva's kernel and bias",
                              "u2_bnb: folded into u2_conva's kernel and bias")
    names = {x.name for x in folded.layers}
    assert {"u1_bna", "u2_bna"} <= names and not {"u1_bnb", "u2_bnb"} & names
    assert folded.layer("u1_relub").calls[0].inputs == (TensorRef("u1_conva"),)
    x = RNG.normal(size=(2, 45, 3))
    np.testing.assert_allclose(run_graph(folded, [x])[0], run_graph(graph, [x])[0],
                               rtol=1e-5, atol=1e-6)
    windowed, _ = with_valid_windows(folded)  # the two export passes compose
    np.testing.assert_allclose(run_graph(windowed, [x])[0], run_graph(graph, [x])[0],
                               rtol=1e-5, atol=1e-6)
    assert with_folded_batchnorms(folded)[1].modified is False
    activated = ModelGraph(tuple(
        replace(x, config={**x.config, "activation": "relu"}) if x.name == "u1_conva" else x
        for x in graph.layers), graph.inputs, graph.outputs)
    assert "u1_bnb" in {x.name for x in with_folded_batchnorms(activated)[0].layers}
