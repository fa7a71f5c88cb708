"""The pass plan: every pass of it is idempotent on every sample, and `inspect` records the
passes `convert` records (no TensorFlow)."""

from __future__ import annotations

import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.export.graph_passes import EXPORT_PASSES, unroll_recurrent
from converter.graph.shapes import static_shapes
from converter.graph.passes import Pass
from converter.graph.pipeline import option_passes, prepare
from converter.inspection import inspect
from converter.normalize import DEFAULT_PASSES
from converter.options import ConvertOptions
from sample_models.catalogue import CATALOGUE
from tests.conftest import sample

ALL_FILES = sorted(f"{n}.{ext}" for n in CATALOGUE for ext in ("keras", "h5"))
VARIANTS = {
    "default": ConvertOptions(),
    "static": ConvertOptions(static_shape=True, static_length=64),
    "channels-last-io": ConvertOptions(io_layout="channels_last", static_shape=True,
                                       static_length=48, static_batch=2),
    "unrolled": ConvertOptions(static_shape=True, static_length=64, unroll_recurrent=64),
}


def plan(options: ConvertOptions) -> list[Pass]:
    """Every pass a conversion with `options` runs, in order."""
    return [*DEFAULT_PASSES, *option_passes(options), *EXPORT_PASSES,
            unroll_recurrent.UnrollStaticRecurrent(options.unroll_recurrent)]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", ALL_FILES)
def test_every_pass_of_the_plan_is_idempotent(load_sample, name: str, variant: str) -> None:
    graph = load_sample(name).graph
    for step in plan(VARIANTS[variant]):
        result = step(graph)
        again = step(result.graph)
        assert again.modified is False, (step.name, again.changes)
        assert again.graph == result.graph, step.name
        graph = result.graph


@pytest.mark.parametrize("name", ["conv_bilstm.keras", "tcn.h5", "channels_first.h5"])
def test_inspect_lists_the_passes_convert_records(load_sample, name: str) -> None:
    records = prepare(load_sample(name).graph, ConvertOptions()).records
    listed = inspect(sample(name)).passes
    assert [(p["name"], p["modified"], p["changes"]) for p in listed] == [
        (r.name, r.modified, list(r.changes)) for r in records]


def recurrent_graph(length: int | None, crop: int) -> ModelGraph:
    """Input -> Conv1D(valid, k=3) -> Cropping1D -> LSTM -> Dense."""
    layers = (
        Layer("x", "InputLayer", {"batch_shape": [None, length, 4]}),
        Layer("conv", "Conv1D", {"filters": 4, "kernel_size": (3,), "padding": "valid"},
              (LayerCall((TensorRef("x"),)),)),
        Layer("crop", "Cropping1D", {"cropping": [crop, 0]}, (LayerCall((TensorRef("conv"),)),)),
        Layer("rnn", "LSTM", {"units": 2}, (LayerCall((TensorRef("crop"),)),)),
    )
    return ModelGraph(layers, (TensorRef("x"),), (TensorRef("rnn"),))


def test_static_shapes_follow_each_layers_arithmetic() -> None:
    shapes = static_shapes(recurrent_graph(1030, 4))
    assert [shapes[TensorRef(n)] for n in ("x", "conv", "crop", "rnn")] == [
        (1030, 4), (1028, 4), (1024, 4), (2,)]
    assert static_shapes(recurrent_graph(None, 4))[TensorRef("crop")] == (None, 4)


@pytest.mark.parametrize(("length", "limit", "unrolled"), [
    (1030, 1024, True), (1031, 1024, False), (None, 1024, False), (1030, 0, False)])
def test_a_recurrent_layer_is_unrolled_only_up_to_the_steps_asked_for(
        length: int | None, limit: int, unrolled: bool) -> None:
    result = unroll_recurrent.UnrollStaticRecurrent(limit)(recurrent_graph(length, 4))
    assert result.modified is unrolled
    assert result.graph.layer("rnn").config.get("unroll", False) is unrolled
    if unrolled:
        assert result.changes == ("rnn: unroll=True over 1024 static steps "
                                  "(--unroll-recurrent 1024)",)
