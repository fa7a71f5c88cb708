"""GroupNormalization, added as one catalogue entry: its reference against Keras, then a model
with it converted with parity on every CPU runtime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter.layers import spec_of
from converter.normalize.channels_last import PASS as CHANNELS_LAST


@pytest.mark.tf
@pytest.mark.parametrize(("groups", "channels", "center", "scale"), [
    (1, 6, True, True), (2, 6, True, False), (3, 6, False, True), (-1, 4, True, True),
], ids=["layer-norm-like", "no-scale", "no-center", "instance-norm"])
def test_reference_matches_keras(groups: int, channels: int, center: bool, scale: bool) -> None:
    import keras

    layer = keras.layers.GroupNormalization(groups=groups, center=center, scale=scale,
                                            epsilon=1e-3)
    x = np.random.default_rng(groups + 7).normal(2.0, 3.0, (3, 11, channels)).astype(np.float32)
    expected = np.asarray(layer(x))
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights([w.astype(np.float32) for w in weights])
    expected = np.asarray(layer(x))
    reference = spec_of("GroupNormalization").reference
    assert reference is not None
    got = reference(layer.get_config(), weights, [x.astype(np.float64)])
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=2e-5)


@pytest.mark.tf
def test_a_model_with_it_converts_with_parity_on_every_cpu_runtime(tmp_path: Path) -> None:
    import keras

    from converter import ConvertOptions, convert

    x = keras.Input((None, 8), name="signal")
    y = keras.layers.Conv1D(8, 3, padding="same", name="conv")(x)
    y = keras.layers.GroupNormalization(groups=4, name="gn")(y)
    y = keras.layers.Activation("relu", name="relu")(y)
    model = keras.Model(x, keras.layers.GlobalAveragePooling1D(name="gap")(y), name="gn_model")
    model.get_layer("gn").set_weights([np.linspace(0.5, 1.5, 8, dtype=np.float32),
                                       np.linspace(-1, 1, 8, dtype=np.float32)])
    result = convert(model, ConvertOptions(output_dir=tmp_path / "out"))
    statuses = {(c.runtime, c.artifact): c.status for c in result.parity}
    assert result.passed, [(c.runtime, c.artifact, c.reason) for c in result.parity]
    assert statuses[("numpy", "normalized-graph")] == "passed"  # the new reference ran
    assert len(statuses) == 10  # 8 CPU checks, the mobile GPU path's 2


def test_channels_first_graphs_remap_its_axis(load_sample) -> None:
    graph = load_sample("channels_first.keras").graph
    conv = next(x for x in graph.layers if x.class_name == "Conv1D")
    from dataclasses import replace

    from converter.artifacts import Layer, LayerCall, TensorRef

    norm = Layer("gn", "GroupNormalization", {"groups": 2, "axis": 1},
                 (LayerCall((TensorRef(conv.name),)),))
    rewired = replace(graph, layers=(*graph.layers, norm), outputs=(TensorRef("gn"),))
    result = CHANNELS_LAST(rewired)
    assert result.graph.layer("gn").config["axis"] == 2
    assert "gn: axis [1] -> [2] (input flipped)" in result.changes
