"""Expansions without TensorFlow: keras-tcn's version differences, weight-norm folding, the
entry-point registry and the pass's rewiring (keras-tcn's own outputs: test_expansions)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import LoadError
from converter.extensions import StoredWeights, installed
from converter.extensions.keras_tcn import EXPANSION, settings
from converter.normalize.expand_layers import PASS
from converter.reference.interpreter import run_graph

RNG = np.random.default_rng(0)


def tcn(**config: object) -> Layer:
    base = {"name": "tcn", "nb_filters": 2, "kernel_size": 2, "dilations": [1],
            "return_sequences": True, "activation": "tanh"}
    return Layer("tcn", "TCN", {**base, **config}, (LayerCall((TensorRef("in"),)),))


def test_keras_tcn_up_to_3_1_1_keeps_relu_inside_the_blocks_and_one_activation() -> None:
    old = settings(tcn())  # wrote neither use_weight_norm nor go_backwards
    assert (old.inner_activation, old.second_activation) == ("relu", False)
    for key in ("use_weight_norm", "go_backwards"):
        new = settings(tcn(**{key: False}))
        assert (new.inner_activation, new.second_activation) == ("tanh", True)


def test_weight_norm_is_folded_as_tensorflow_addons_computes_it() -> None:
    v = RNG.normal(size=(2, 3, 2)).astype(np.float32)
    g = np.array([0.5, 2.0], np.float32)
    paths = [f"residual_block_0/{conv}/{leaf}" for conv in ("conv1D_0", "conv1D_1")
             for leaf in ("g:0", "kernel:0", "bias:0")]
    arrays = [g, v, np.zeros(2, np.float32), g, v[:, :2], np.zeros(2, np.float32)]
    paths += ["residual_block_0/matching_conv1D/kernel:0",  # keras-tcn never wraps this one
              "residual_block_0/matching_conv1D/bias:0"]
    arrays += [RNG.normal(size=(1, 3, 2)).astype(np.float32), np.zeros(2, np.float32)]
    fragment = EXPANSION.expand(tcn(use_weight_norm=True), (TensorRef("in"),),
                                StoredWeights(tuple(arrays), tuple(paths)), ((None, 3),))
    conv = next(x for x in fragment.layers if x.name == "tcn.residual_block_0.conv1D_0")
    want = v / np.sqrt((v.astype(np.float64) ** 2).sum(axis=(0, 1))) * g
    assert np.allclose(conv.weights[0], want, atol=1e-6)
    with pytest.raises(LoadError, match="stores no weight-norm scale g"):
        EXPANSION.expand(tcn(use_weight_norm=True), (TensorRef("in"),),
                         StoredWeights(tuple(arrays[1:]), tuple(paths[1:])), ((None, 3),))


def test_the_pass_rewires_readers_and_the_expansion_matches_hand_numbers() -> None:
    """One block, matching conv, tanh: out = tanh(match(x) + tanh(tanh(conv1(tanh(conv0 x)))))."""
    k0, k1, km = (RNG.normal(size=s).astype(np.float32) for s in [(2, 3, 2), (2, 2, 2),
                                                                     (1, 3, 2)])
    paths = ("residual_block_0/conv1D_0/vars/0", "residual_block_0/conv1D_0/vars/1",
             "residual_block_0/conv1D_1/vars/0", "residual_block_0/conv1D_1/vars/1",
             "residual_block_0/matching_conv1D/vars/0", "residual_block_0/matching_conv1D/vars/1")
    zeros = np.zeros(2, np.float32)
    config = tcn(go_backwards=False, use_skip_connections=False).config
    layer = Layer("tcn", "TCN", dict(config), (LayerCall((
        TensorRef("in"),)),), (k0, zeros, k1, zeros, km, zeros), tuple(f"tcn/{p}" for p in paths))
    graph = ModelGraph((Layer("in", "InputLayer", {"batch_shape": [None, 5, 3]}), layer,
                        Layer("out", "Activation", {"activation": "linear"},
                              (LayerCall((TensorRef("tcn"),)),))),
                       (TensorRef("in"),), (TensorRef("out"),))
    result = PASS(graph)
    assert result.changes == ("tcn (keras-tcn TCN): keras-tcn TCN -> 8 built-in layers (1 "
                              "residual blocks)",)
    assert result.graph.layer("out").calls[0].inputs == (TensorRef("tcn.residual_block_0."
                                                                    "Act_Res_Block"),)
    x = RNG.normal(size=(2, 5, 3))

    def causal(h: np.ndarray, k: np.ndarray) -> np.ndarray:
        padded = np.pad(h, ((0, 0), (k.shape[0] - 1, 0), (0, 0)))
        return sum(padded[:, i:i + h.shape[1]] @ k[i] for i in range(k.shape[0]))

    x1 = np.tanh(np.tanh(causal(np.tanh(causal(x, k0)), k1)))
    want = np.tanh(x @ km[0] + x1)
    assert np.allclose(run_graph(result.graph, [x])[0], want, atol=1e-5)


def test_a_broken_entry_point_is_listed_and_stops_nothing(monkeypatch) -> None:
    broken = importlib.metadata.EntryPoint("bad", "no_such_module:EXPANSION",
                                           "converter.expansions")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    found = installed()
    assert "TCN" in found.by_class
    assert found.broken == ("?: bad = no_such_module:EXPANSION (ModuleNotFoundError: No module "
                            "named 'no_such_module')",)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras_tcn"


@pytest.mark.parametrize(("case", "version"), [("weight_norm", "3.4.0"),
                                               ("relu_inside", "3.1.1")])
def test_files_older_keras_tcn_wrote_expand_to_its_numbers(case: str, version: str) -> None:
    """Written by scripts/fixtures/keras_tcn_files.py beside TensorFlow 2.15: tensorflow-addons'
    weight norm (g, v and its data_dep_init copy stored per conv), and 3.1.1's relu blocks."""
    from converter.load import load_path
    from converter.normalize import normalize

    stored = np.load(FIXTURES / f"{case}.npz")
    assert str(stored["keras_tcn"]) == version
    graph, _ = normalize(load_path(FIXTURES / f"{case}.h5").graph)
    got = run_graph(graph, [stored["x"]])[0]
    assert np.abs(stored["y"]).max() > 0.5
    assert np.abs(got - stored["y"]).max() <= 1e-5
