"""Loading .keras and Keras 2 .h5 files with h5py alone, and refusing bad input clearly."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from converter.artifacts import TensorRef
from converter.errors import LoadError, UnsupportedLayersError
from converter.load import load_path
from converter.load.weights import saving_paths
from sample_models.catalogue import CATALOGUE
from tests.conftest import sample

PAIRS = sorted(name for name, s in CATALOGUE.items() if s.keras3)


@pytest.mark.parametrize("name", PAIRS)
def test_keras_and_h5_files_hold_the_same_graph_and_weights(load_sample, name: str) -> None:
    k3, k2 = load_sample(f"{name}.keras"), load_sample(f"{name}.h5")
    assert k3.provenance.format == "keras-v3" and k3.reference_loader == "keras"
    assert k2.provenance.format == "keras2-h5" and k2.reference_loader == "tf_keras"
    assert [x.name for x in k3.graph.layers] == [x.name for x in k2.graph.layers]
    assert k3.graph.inputs == k2.graph.inputs and k3.graph.outputs == k2.graph.outputs
    for a, b in zip(k3.graph.layers, k2.graph.layers, strict=True):
        assert a.class_name == b.class_name
        assert [c.inputs for c in a.calls] == [c.inputs for c in b.calls]
        assert len(a.weights) == len(b.weights)
        for wa, wb in zip(a.weights, b.weights, strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_bidirectional_weights_are_forward_then_backward(load_sample) -> None:
    # HDF5 lists children alphabetically (backward_layer first); Keras orders forward first.
    k3, k2 = load_sample("conv_bilstm.keras"), load_sample("conv_bilstm.h5")
    shapes = [w.shape for w in k3.graph.layer("bilstm").weights]
    assert shapes == [(16, 32), (8, 32), (32,)] * 2
    for wa, wb in zip(k3.graph.layer("bilstm").weights, k2.graph.layer("bilstm").weights,
                      strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_shared_structure_of_kim_cnn(load_sample) -> None:
    graph = load_sample("kim_cnn.keras").graph
    concat = graph.layer("concat")
    assert concat.calls[0].list_input is True
    assert concat.calls[0].inputs == tuple(TensorRef(f"maxpool_w{w}") for w in (3, 4, 5))
    assert graph.layer("conv_w4").calls[0].list_input is False
    assert graph.outputs == (TensorRef("classes"),)


def test_saving_paths_follow_keras_naming() -> None:
    assert saving_paths(["InputLayer", "Conv1D", "Conv1D", "MaxPooling1D", "Conv1D"]) == [
        "input_layer", "conv1d", "conv1d_1", "max_pooling1d", "conv1d_2",
    ]


def bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    text_h5 = tmp / "notes.h5"
    text_h5.write_text("these are my notes, not a model\n")
    empty = tmp / "empty.keras"
    empty.write_bytes(b"")
    folder = tmp / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    loop = tmp / "loop.h5"
    os.symlink(loop, loop)
    zip_no_config = tmp / "other.keras"
    with zipfile.ZipFile(zip_no_config, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return {
        "missing": (tmp / "nope.keras", r"nope.keras: no such file; expected a Keras model"),
        "text-h5": (text_h5, r"notes.h5: found text starting with 'these are my notes"),
        "empty": (empty, r"empty.keras: found an empty file; expected a Keras model"),
        "directory": (folder, r"photos: is a directory \(containing \['cat.jpg'\]\), not a model"),
        "unreadable": (loop, r"loop.h5: cannot be read \(Too many levels of symbolic links\)"),
        "zip-no-config": (zip_no_config, r"the zip has no config.json \(it holds readme.txt\)"),
    }


@pytest.mark.parametrize("case", ["missing", "text-h5", "empty", "directory", "unreadable",
                                  "zip-no-config"])
def test_bad_input_gets_one_clear_line(tmp_path: Path, case: str) -> None:
    path, message = bad_inputs(tmp_path)[case]
    with pytest.raises(LoadError, match=message) as info:
        load_path(path)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 3


def test_lambda_layers_are_refused_all_at_once(tmp_path: Path) -> None:
    with zipfile.ZipFile(sample("text_conv1d.keras")) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    template = config["config"]["layers"][1]
    for name in ("scale", "shift"):
        config["config"]["layers"].append({**template, "class_name": "Lambda", "name": name,
                                           "config": {"name": name, "function": "payload"}})
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "lambda.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(UnsupportedLayersError, match=r"scale \(Lambda.*shift \(Lambda.*never "
                                                      r"executes code"):
        load_path(path)


def test_weights_only_h5_names_what_is_missing(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
    with pytest.raises(LoadError, match=r"holds weights only \(no model_config attribute\)"):
        load_path(path)
