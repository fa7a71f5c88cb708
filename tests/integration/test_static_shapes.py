"""The catalogue's shape arithmetic agrees with Keras on every sample and real model: where
`graph.shapes` knows a tensor's static shape, it is the one the built Keras model has."""

from __future__ import annotations

import pytest

from converter.artifacts import TensorRef
from converter.graph.pipeline import normalized
from converter.graph.shapes import static_shapes
from sample_models.catalogue import supported
from tests.conftest import REAL_MODELS, sample
from tests.integration.test_real_models import EXPECTED, manifest

pytestmark = pytest.mark.tf
SAMPLES = sorted(f"{s.name}.{ext}" for s in supported() for ext in ("keras", "h5"))
REAL = [(n, c) for n, c in manifest() if EXPECTED.get(n) == "passed"]


def compare(path, arch=None) -> tuple[int, list[str]]:
    """(tensors compared, disagreements) between graph.shapes and the built Keras model."""
    from converter.build import build
    from converter.load import LoadOptions, load_path

    graph, _ = normalized(load_path(path, LoadOptions(arch)).graph)
    model = build(graph)
    shapes = static_shapes(graph)
    compared, wrong = 0, []
    for layer in graph.layers:
        ours = shapes.get(TensorRef(layer.name))
        if ours is None or layer.class_name == "InputLayer":
            continue
        output = model.get_layer(layer.name).output
        if isinstance(output, (list, tuple)):
            output = output[0]
        theirs = tuple(output.shape[1:])
        compared += 1
        if any(a is not None and a != b for a, b in zip(ours, theirs, strict=False)) or len(
                ours) != len(theirs):
            wrong.append(f"{layer.name} ({layer.class_name}): ours {ours}, Keras {theirs}")
    return compared, wrong


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_shapes_agree_with_keras(name: str) -> None:
    compared, wrong = compare(sample(name))
    assert compared > 0 and wrong == []


@pytest.mark.slow
@pytest.mark.skipif(not REAL_MODELS.exists(), reason="corpus absent")
@pytest.mark.parametrize(("name", "companion"), REAL, ids=[n for n, _ in REAL])
def test_real_model_shapes_agree_with_keras(name: str, companion: str) -> None:
    compared, wrong = compare(REAL_MODELS / name, REAL_MODELS / companion if companion else None)
    assert compared > 0 and wrong == []
