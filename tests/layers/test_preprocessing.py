"""Preprocessing layers' NumPy references, against the formulas Keras documents (no TensorFlow).

Normalization: (x - mean) / max(sqrt(var), 1e-7), statistics aligned right to left onto the
kept axes, from its weights (adapted) or its config (given); Rescaling: x * scale + offset.
"""

from __future__ import annotations

import numpy as np
import pytest

from converter.errors import UnsupportedByReference
from converter.layers import spec_of

X = np.random.default_rng(0).normal(2.0, 3.0, size=(2, 5, 3))


def run(class_name: str, config: dict, weights: tuple = ()) -> np.ndarray:
    reference = spec_of(class_name).reference
    assert reference is not None
    return reference(config, list(weights), [X])


def test_adapted_normalization_uses_its_weights_per_channel() -> None:
    mean, var = np.array([1.0, 2.0, 3.0]), np.array([4.0, 0.25, 0.0])
    got = run("Normalization", {"axis": -1, "mean": None}, (mean, var, np.array(64)))
    want = (X - mean) / np.maximum(np.sqrt(var), 1e-7)
    assert np.allclose(got, want)


@pytest.mark.parametrize(("axis", "shape"), [(None, ()), ([1, 2], (5, 3)), ((-2,), (5,))])
def test_given_statistics_align_onto_the_kept_axes(axis, shape) -> None:
    mean = np.arange(int(np.prod(shape)), dtype=float).reshape(shape) if shape else np.array(2.0)
    config = {"axis": axis, "mean": mean.tolist(), "variance": (mean + 1).tolist()}
    aligned = mean.reshape((5, 1)) if shape == (5,) else mean
    assert np.allclose(run("Normalization", config), (X - aligned) / np.sqrt(aligned + 1))


def test_inverted_normalization_undoes_the_forward_one() -> None:
    config = {"axis": -1, "mean": [1.0, -1.0, 0.5], "variance": [4.0, 9.0, 1.0]}
    forward = run("Normalization", config)
    reference = spec_of("Normalization").reference
    assert reference is not None
    back = reference({**config, "invert": True}, [], [forward])
    assert np.allclose(back, X)


def test_normalization_without_statistics_is_not_guessed() -> None:
    with pytest.raises(UnsupportedByReference, match="without its mean and variance"):
        run("Normalization", {"axis": -1, "mean": None})


def test_rescaling_reads_keras3_serialised_arrays() -> None:
    scale = {"class_name": "__numpy__", "config": {"value": [0.5, 2.0, -1.0], "dtype": "float32"}}
    got = run("Rescaling", {"scale": scale, "offset": 0.25})
    assert np.allclose(got, X * np.array([0.5, 2.0, -1.0]) + 0.25)


def test_lookup_layers_carry_their_refusal() -> None:
    for name in ("StringLookup", "IntegerLookup", "TextVectorization", "Hashing"):
        assert "vocabulary is a hash table" in spec_of(name).refusal
    assert spec_of("Normalization").refusal == ""
