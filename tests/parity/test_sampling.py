"""Which rows the plain reference evaluators read on large cases (no TensorFlow)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import converter.parity.sampling as sampling
from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.parity.evidence import Probe
from converter.parity.judge import Expected
from converter.parity.sampling import copies_sampled, cut, sampled


def conv_model(channels: int = 32, taps: int = 11) -> ModelGraph:
    """x (None, None, channels) -> a same-padded Conv1D: channels^2 x taps weights."""
    x = Layer("x", "InputLayer", {"batch_shape": [None, None, channels]})
    conv = Layer("conv", "Conv1D", {"filters": channels, "kernel_size": (taps,),
                                    "strides": (1,), "padding": "same"},
                 (LayerCall((TensorRef("x"),)),),
                 (np.zeros((taps, channels, channels), np.float32),
                  np.zeros((channels,), np.float32)))
    return ModelGraph((x, conv), (TensorRef("x"),), (TensorRef("conv"),))


def cases(batch: int, *lengths: int, channels: int = 32) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [{"x": rng.normal(size=(batch, n, channels)).astype(np.float32)} for n in lengths]


def test_small_cases_are_read_whole() -> None:
    # 32 x 32 x 11 weights x (1000 + 1065 steps) x 4 rows: 9.3e7 multiply-adds
    assert sampled(conv_model(), cases(4, 1000, 1065)) is None


def test_large_cases_keep_a_different_row_of_each_for_the_plain_evaluators() -> None:
    # 11,296 weights x 10,000 steps x 4 rows x 2 cases: 9.0e8, over a budget of 5e8
    found = sampled_under(5e8, conv_model(), cases(4, 10_000, 10_000))
    assert found is not None and found.rows == (0, 1)
    assert found.note.startswith("1 of 4 rows of each case (a different row in each): the "
                                 "cases cost 9.0e+08 multiply-adds, over the 5e+08")
    given = cases(4, 10_000, 10_000)
    cut = found.cases(given)
    assert [c["x"].shape for c in cut] == [(1, 10_000, 32)] * 2
    assert np.array_equal(cut[0]["x"][0], given[0]["x"][0])
    assert np.array_equal(cut[1]["x"][0], given[1]["x"][1])


def test_a_single_row_or_a_row_count_that_differs_between_inputs_is_read_whole() -> None:
    assert sampled_under(0, conv_model(), cases(1, 10_000, 10_000)) is None
    mixed = [{"x": np.zeros((4, 50, 32), np.float32), "y": np.zeros((2, 3), np.float32)}]
    assert sampled_under(0, conv_model(), mixed) is None


def test_files_with_a_fixed_batch_are_read_whole() -> None:
    # --static-shape files take their batch only: one row is not an input they accept
    graph = conv_model()
    fixed = replace(graph, fixed_batch=4)  # as StaticShape leaves a graph
    assert sampled_under(0, graph, cases(4, 100)) is not None
    assert sampled_under(0, fixed, cases(4, 100)) is None


def test_a_graph_whose_cost_cannot_be_estimated_is_read_whole() -> None:
    broken = ModelGraph((), (TensorRef("missing"),), (TensorRef("missing"),))
    assert sampled_under(-1, broken, cases(4, 100)) is None


def test_the_reference_and_the_probed_logits_are_cut_to_the_rows_each_side_read() -> None:
    found = sampled_under(0, conv_model(), cases(3, 40, 50, 60))
    assert found is not None and found.rows == (0, 1, 2)
    series = [np.arange(3 * k).reshape(3, k) for k in (2, 3, 4)]
    one_row = [[[0, 1]], [[3, 4, 5]], [[8, 9, 10, 11]]]
    reference = Expected({"y": series}, {"y": series})
    whole = Probe(logits={0: {"y": series}, 1: {"y": series}})
    # a plain evaluator: its check and its copies on one row, the copies probed on every row
    check, copies, probe = cut(reference, whole, found, found, probed=False)
    assert [a.tolist() for a in check.outputs["y"]] == one_row == [
        a.tolist() for a in check.logits["y"]]
    assert listed(copies) == listed(check)
    assert [a.tolist() for a in probe.logits[0]["y"]] == one_row == [
        a.tolist() for a in probe.logits[1]["y"]]
    # an optimised runtime on an fp32 file: its check on every row, its copies (probed on
    # the sampled rows already) on one
    probed = Probe(logits={0: {"y": series}, 1: {"y": found.series(series)}})
    check, copies, probe = cut(reference, probed, None, found, probed=True)
    assert listed(check) == listed(reference)
    assert [a.tolist() for a in copies.outputs["y"]] == one_row
    assert listed(probe) == listed(probed)
    # every row on both sides where nothing is sampled
    check, copies, probe = cut(reference, whole, None, None, probed=False)
    assert listed(check) == listed(copies) == listed(reference) and listed(probe) == listed(whole)


def test_only_fp32_files_run_their_copies_on_the_sampled_rows() -> None:
    found = sampled_under(0, conv_model(), cases(2, 40))
    assert copies_sampled(found, "fp32") and not copies_sampled(None, "fp32")
    assert not any(copies_sampled(found, p) for p in ("fp16", "int8-dynamic", "int8"))


def listed(value: Expected | Probe) -> object:
    """Expected's outputs and logits, or a Probe's logits, as lists (comparable with ==)."""
    if isinstance(value, Probe):
        return {k: {n: [a.tolist() for a in v] for n, v in found.items()}
                for k, found in value.logits.items()}
    return [{n: [a.tolist() for a in v] for n, v in part.items()}
            for part in (value.outputs, value.logits)]


def sampled_under(budget: float, graph: ModelGraph,
                  given: list[dict[str, np.ndarray]]) -> sampling.Sampled | None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sampling, "READ_WHOLE", budget)
        return sampled(graph, given)
