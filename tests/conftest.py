"""Shared fixtures. Unit tests use only h5py/numpy; TensorFlow tests are marked `tf`."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.artifacts import LoadedModel
from converter.load import load_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models" / "files"
REAL_MODELS = ROOT.parent / "shared" / "real_models"


def sample(name: str) -> Path:
    """Path of a bundled sample file."""
    return SAMPLES / name


@pytest.fixture(scope="session")
def load_sample() -> object:
    """Load a sample file once per session (loading needs no TensorFlow)."""
    cache: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in cache:
            cache[name] = load_path(sample(name))
        return cache[name]

    return get
