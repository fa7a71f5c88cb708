"""Each normalisation pass: before/after, interface unchanged, idempotent (no TensorFlow)."""

from __future__ import annotations

import pytest

from converter.artifacts import TensorRef
from converter.errors import NormalizeError
from converter.graph.interface import input_specs, output_names
from converter.normalize import DEFAULT_PASSES, canonical_tuples, keras2_drift, normalize
from converter.graph.passes import run_passes
from sample_models.catalogue import CATALOGUE

ALL_FILES = sorted(f"{n}.{ext}" for n in CATALOGUE for ext in ("keras", "h5"))


@pytest.mark.parametrize("name", ALL_FILES)
def test_passes_are_idempotent_and_keep_the_interface(load_sample, name: str) -> None:
    graph, records = normalize(load_sample(name).graph)
    again, second = normalize(graph)
    assert [r.modified for r in second] == [False] * len(DEFAULT_PASSES)
    assert again == graph
    assert [r.name for r in records] == [p.name for p in DEFAULT_PASSES]
    assert len(input_specs(graph)) == len(load_sample(name).graph.inputs)
    assert output_names(graph)


def test_canonical_tuples_on_every_written_form(load_sample) -> None:
    graph, records = normalize(load_sample("kernel_forms.keras").graph)
    conv = {n: graph.layer(n).config for n in ("as_int", "as_tuple", "as_list")}
    assert conv["as_int"]["kernel_size"] == (3,) and conv["as_int"]["strides"] == (1,)
    assert conv["as_tuple"]["kernel_size"] == (5,)
    assert conv["as_list"]["kernel_size"] == (3,) and conv["as_list"]["dilation_rate"] == (2,)
    pool = graph.layer("pool_int").config
    assert pool["pool_size"] == (2,) and pool["strides"] == (2,)
    changes = next(r for r in records if r.name == "canonical_tuples").changes
    assert "as_int: kernel_size 3 -> (3,)" in changes
    assert "as_list: kernel_size [3] -> (3,)" in changes


def test_canonical_tuples_refuses_two_sizes_for_a_1d_layer(load_sample) -> None:
    graph = load_sample("text_conv1d.keras").graph
    conv = graph.layer("conv")
    bad = conv.__class__(conv.name, conv.class_name, {**conv.config, "kernel_size": [3, 3]},
                         conv.calls, conv.weights)
    broken = graph.__class__((graph.layers[0], bad), graph.inputs, graph.outputs)
    with pytest.raises(NormalizeError, match=r"pass canonical_tuples failed: layer conv: "
                                              r"kernel_size=\[3, 3\] is not one integer"):
        run_passes(broken, [canonical_tuples.PASS])


def test_dropout_is_removed_and_consumers_rewired(load_sample) -> None:
    before = load_sample("kim_cnn.h5").graph
    assert [x.class_name for x in before.layers][-2:] == ["Dropout", "Dense"]
    graph, records = normalize(before)
    assert "dropout" not in [x.name for x in graph.layers]
    assert graph.layer("classes").calls[0].inputs == (TensorRef("concat"),)
    assert next(r for r in records if r.name == "remove_inference_identity").changes == (
        "dropout: removed",
    )


def test_keras2_drift_on_h5_files(load_sample) -> None:
    graph, records = normalize(load_sample("conv_bilstm.h5").graph)
    assert graph.layer("frames").config["batch_shape"] == [None, 40, 4]
    assert "batch_input_shape" not in graph.layer("frames").config
    inner = graph.layer("bilstm").config["layer"]["config"]
    assert "time_major" not in inner
    drift = next(r for r in records if r.name == "keras2_drift").changes
    assert "bilstm: layer: time_major=False dropped (Keras 3 RNNs are batch-major)" in drift
    ae, _ = normalize(load_sample("autoencoder.h5").graph)
    assert "kernel_initializer" not in ae.layer("sep").config
    assert "groups" not in ae.layer("up").config
    ecg, _ = normalize(load_sample("ecg_classifier.h5").graph)
    assert ecg.layer("bn0").config["axis"] == 2


def test_time_major_true_is_refused(load_sample) -> None:
    graph = load_sample("conv_bilstm.h5").graph
    layer = graph.layer("bilstm")
    inner = layer.config["layer"]
    config = {**layer.config, "layer": {**inner, "config": {**inner["config"],
                                                             "time_major": True}}}
    bad = layer.__class__(layer.name, layer.class_name, config, layer.calls, layer.weights)
    broken = graph.__class__(tuple(bad if x.name == "bilstm" else x for x in graph.layers),
                             graph.inputs, graph.outputs)
    with pytest.raises(NormalizeError, match=r"time_major=True RNNs have no Keras 3 equivalent"):
        run_passes(broken, [keras2_drift.PASS])


def test_keras3_dtype_policies_become_names(load_sample) -> None:
    graph, _ = normalize(load_sample("tcn.keras").graph)
    assert {x.config.get("dtype") for x in graph.layers} == {"float32"}


def test_embedding_inputs_get_token_ranges(load_sample) -> None:
    graph, _ = normalize(load_sample("kim_cnn.keras").graph)
    (spec,) = input_specs(graph)
    assert spec.int_range == (0, 60) and spec.dtype == "int32" and spec.shape == (None, 24)
