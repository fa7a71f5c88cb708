"""channels_first -> channels_last, proven on the NumPy reference (no TensorFlow)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from converter.artifacts import Layer, LayerCall, TensorRef

from converter.normalize import DEFAULT_PASSES, channels_last, normalize
from converter.graph.passes import run_passes
from converter.reference.interpreter import run_graph


def test_channels_first_graph_becomes_channels_last_with_the_same_outputs(load_sample) -> None:
    graph = load_sample("channels_first.h5").graph
    before, _ = run_passes(graph, [p for p in DEFAULT_PASSES if p is not channels_last.PASS])
    after, records = normalize(graph)
    record = next(r for r in records if r.name == "channels_last")
    assert record.modified
    assert list(record.changes) == [
        "channels_to_channels_last: Permute((2, 1)) inserted, to channels_last",
        "conv: data_format channels_first -> channels_last",
        "bn: axis [1] -> [2] (input flipped)",
        "pool: data_format channels_first -> channels_last",
        "out: kernel rows reordered from (C=8, W) to (W, C) flatten order",
    ]
    assert not any(x.config.get("data_format") == "channels_first" for x in after.layers)
    x = np.random.default_rng(0).uniform(-2, 2, (3, 4, 50))
    np.testing.assert_allclose(run_graph(after, [x])[0], run_graph(before, [x])[0], atol=1e-5)
    assert channels_last.PASS(after).modified is False


def test_an_unknown_reader_of_a_flipped_tensor_gets_it_back_in_its_own_layout(
        load_sample) -> None:
    # A ZeroPadding1D pads axis 1 whatever the data format: in a channels_first model, the
    # channels (8 -> 10). The pass does not know it, so it must hand it channels_first.
    graph, _ = run_passes(load_sample("channels_first.h5").graph,
                          [p for p in DEFAULT_PASSES if p is not channels_last.PASS])
    pad = Layer("pad", "ZeroPadding1D", {"name": "pad", "padding": (1, 1)},
                (LayerCall((TensorRef("bn"),)),))
    dense = np.random.default_rng(2).standard_normal((10 * 23, 3))
    layers = []
    for layer in graph.layers:
        if layer.name == "pool":
            layers.append(pad)
            layer = replace(layer, calls=(LayerCall((TensorRef("pad"),)),))
        if layer.name == "out":
            layer = replace(layer, weights=(dense, layer.weights[1]))
        layers.append(layer)
    graph = replace(graph, layers=tuple(layers))
    result = channels_last.PASS(graph)
    assert "bn_to_channels_first: Permute((2, 1)) inserted, to channels_first" in result.changes
    assert not any("kernel rows" in change for change in result.changes)
    x = np.random.default_rng(1).uniform(-2, 2, (2, 4, 50))
    np.testing.assert_allclose(run_graph(result.graph, [x])[0], run_graph(graph, [x])[0],
                               atol=1e-5)
