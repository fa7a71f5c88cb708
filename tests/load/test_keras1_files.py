"""Keras 1 files written with h5py: backend detection, kernel layouts, --arch, safe YAML.

Expected outputs come from `keras1_writer.expected_output`, computed without converter; the
NumPy reference must reproduce them (here) and so must the exported artifacts
(tests/integration/test_keras1_convert.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter.errors import LoadError
from converter.load import LoadOptions, load_path
from converter.normalize import normalize
from converter.reference import run_graph
from tests.load import keras1_writer as k1

X = np.random.default_rng(3).uniform(-2, 2, (4, k1.LENGTH, k1.CHANNELS)).astype(np.float32)


def reference_output(path: Path, options: LoadOptions | None = None) -> np.ndarray:
    graph, _ = normalize(load_path(path, options).graph)
    return run_graph(graph, [X])[0]


@pytest.mark.parametrize("backend", ["theano", "tensorflow"])
@pytest.mark.parametrize("old_layout", [False, True], ids=["k-1-in-out", "out-in-k-1"])
def test_keras1_full_model_matches_the_hand_computation(tmp_path, backend, old_layout) -> None:
    weights = k1.random_weights(1)
    path = k1.write_full_model(tmp_path / "m.h5", weights, backend, old_layout)
    loaded = load_path(path)
    assert loaded.provenance.format == "keras1-h5"
    assert loaded.provenance.backend == backend
    assert loaded.reference_loader == "numpy"
    expected = k1.expected_output(X, weights, backend)
    np.testing.assert_allclose(reference_output(path), expected, atol=1e-5)
    # The other backend's convention gives other numbers: the flip is not a no-op here.
    other = "tensorflow" if backend == "theano" else "theano"
    assert np.abs(k1.expected_output(X, weights, other) - expected).max() > 0.1


def test_backend_attribute_and_override_decide_the_flip(tmp_path) -> None:
    weights = k1.random_weights(2)
    path = k1.write_full_model(tmp_path / "m.h5", weights, "theano", backend_attr=True)
    decided = load_path(path).provenance.backend_decided_by
    assert decided == "the file's backend attribute ('theano')"
    forced = LoadOptions(source_backend="tensorflow")
    assert load_path(path, forced).provenance.backend_decided_by == "--source-backend given"
    np.testing.assert_allclose(reference_output(path, forced),
                               k1.expected_output(X, weights, "tensorflow"), atol=1e-5)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_weights_only_with_arch_file(tmp_path, suffix) -> None:
    weights = k1.random_weights(3)
    path = k1.write_weights_only(tmp_path / "weights.h5", weights, "theano")
    arch = tmp_path / f"model{suffix}"
    if suffix == ".yaml":
        arch.write_text(k1.YAML_ARCH)
    else:
        import json

        arch.write_text(json.dumps({"class_name": "Sequential", "config": k1.layers_config(),
                                    "keras_version": "1.2.2"}))
    loaded = load_path(path, LoadOptions(arch=arch))
    assert loaded.provenance.format == f"weights-h5+{suffix[1:]}"
    assert loaded.provenance.keras_version == "1.2.2"
    assert loaded.provenance.architecture.startswith(str(arch))
    np.testing.assert_allclose(reference_output(path, LoadOptions(arch=arch)),
                               k1.expected_output(X, weights, "theano"), atol=1e-5)


def test_weights_only_without_arch_says_how_to_supply_it(tmp_path) -> None:
    path = k1.write_weights_only(tmp_path / "weights.h5", k1.random_weights(4), "tensorflow")
    with pytest.raises(LoadError, match=r"holds weights only \(no model_config attribute\); "
                                        r"converter needs the architecture too: pass it with "
                                        r"--arch model.json"):
        load_path(path)


def test_arch_for_other_weights_is_refused(tmp_path) -> None:
    import json

    path = k1.write_weights_only(tmp_path / "weights.h5", k1.random_weights(4), "tensorflow")
    config = k1.layers_config()
    config[0]["config"]["name"] = "renamed_conv"
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"class_name": "Sequential", "config": config}))
    with pytest.raises(LoadError, match=r"holds weights for layers \['convolution1d_1'\] that "
                                        r"the architecture does not have"):
        load_path(path, LoadOptions(arch=arch))


def test_yaml_with_a_python_object_tag_is_refused_and_runs_nothing(tmp_path) -> None:
    marker = tmp_path / "marker"
    arch = tmp_path / "evil.yaml"
    arch.write_text(f"class_name: Sequential\nconfig: !!python/object/apply:os.system "
                    f"['touch {marker}']\n")
    path = k1.write_weights_only(tmp_path / "weights.h5", k1.random_weights(5), "tensorflow")
    with pytest.raises(LoadError, match=r"evil.yaml: is not safe Keras YAML"):
        load_path(path, LoadOptions(arch=arch))
    assert not marker.exists()


def test_sequential_without_input_shape_is_inferred_from_the_kernels() -> None:
    from converter.load.config_graph import graph_from_config

    conv = {"filters": 4, "kernel_size": [2], "padding": "valid", "dilation_rate": [2],
            "strides": [1]}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Conv1D", "config": {"name": "c1", **conv}},
        {"class_name": "MaxPooling1D", "config": {"name": "p", "pool_size": [2],
                                                  "strides": [2], "padding": "valid"}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 1}}]}}
    weights = {"c1": (np.zeros((2, 3, 4)), np.zeros(4)), "d": (np.zeros((4 * 7, 1)), np.zeros(1))}
    graph = graph_from_config(config, weights)
    # 16 steps -> valid dilated conv (span 3) -> 14 -> pool 2 -> 7 steps x 4 channels = 28 rows
    assert graph.layers[0].config["batch_shape"] == [None, 16, 3]
    assert graph.input_note.endswith("length 16 from the 28-row Dense after Flatten")
