"""The real-model corpus (../shared/real_models), skipped where absent.

Every model converts with parity passed, or fails with exit 3 naming the layer it cannot
handle and the remedy.
"""

from __future__ import annotations

import csv
import json
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.load import LoadOptions, load_path
from converter.normalize import normalize
from converter.reference import run_graph
from tests.conftest import REAL_MODELS

pytestmark = [
    pytest.mark.tf,
    pytest.mark.skipif(not (REAL_MODELS / "MANIFEST.tsv").exists(), reason="corpus absent"),
]

CUSTOM = "--custom-objects module:Class"
# Every model and what it must do: "passed" (exit 0) or the text its exit-3 error must hold.
EXPECTED = {
    "spliceai__spliceai1.h5": "passed",
    "hls4ml__KERAS_conv1d_small_weights.h5": "passed",
    "kad__con1d-auto-encoder-weights.h5": "passed",
    "factornet_e2f1_gencode_dgf__best_model.hdf5": "passed",
    "factornet_rest_gencode_dgf__final_model.hdf5": "passed",
    "tcnstock__tcn_model.keras": "tcn (class TCN is not a Keras 3 layer)",
    "praali__cnn1d_model.keras": "passed",
    "cnn1dvar__CNN1D_Model_4H_LSTM.h5": "passed",
    "synthecg__ecg_model.h5": "passed",
    "stockcnn__cnn1d_model": "passed",
    "oncemylove__ecg_model": "multi_head_self_attention (class MultiHeadSelfAttention",
    "kipoi_extended_coda__weights.h5": "passed",
    "kipoi_extended_coda_keras2__model.h5": "passed",
    "kipoi_rbp__weights.h5": "spline_t_6 (class SplineT is not a Keras 3 layer)",
    "sentweb__wordvec_cnn_weights.h5": "passed",
    "dfdpulse__wavenet.h5": "passed",
    "nssa__cnn_bilstm_model.h5": "passed",
    "nids__cnn_bilstm_model.h5": "passed",
    "climator__TCN_Model_V2": "tcn_2 (class TCN is not a Keras 3 layer)",
    "nonbangkok__model.keras": "passed",
    "nonbangkok__model.h5": "passed",
    "nithishhar__har_model.keras": "passed",
}


def manifest() -> list[tuple[str, str]]:
    if not (REAL_MODELS / "MANIFEST.tsv").exists():
        return []
    with open(REAL_MODELS / "MANIFEST.tsv") as handle:
        return [(r["local_name"], r["companions"].strip())
                for r in csv.DictReader(handle, delimiter="\t")]


@pytest.fixture(scope="module")
def convert_cli(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple]:
    """CLI conversion of a corpus model, run once per module: (exit code, output, out dir)."""
    companions = dict(manifest())
    done: dict[str, tuple[int, str, Path]] = {}

    def run(name: str) -> tuple[int, str, Path]:
        if name not in done:
            out = tmp_path_factory.mktemp(name.replace(".", "_")) / "out"
            args = ["convert", str(REAL_MODELS / name), "-o", str(out)]
            if companions.get(name):
                args += ["--arch", str(REAL_MODELS / companions[name])]
            result = CliRunner().invoke(main, args)
            output = result.output
            if result.exc_info and not isinstance(result.exception, SystemExit):
                output += "".join(traceback.format_exception(*result.exc_info))  # for CI's log
            done[name] = (result.exit_code, output, out)
        return done[name]

    return run


@pytest.mark.slow
@pytest.mark.parametrize(("name", "companion"), manifest(), ids=[n for n, _ in manifest()])
def test_every_real_model_converts_or_names_what_it_cannot_handle(convert_cli, name, companion):
    expected = EXPECTED[name]  # a new corpus entry must be given its expectation here
    code, output, out = convert_cli(name)
    if expected == "passed":
        assert code == 0, output
    else:
        assert code == 3, output
        assert expected in output and CUSTOM in output
        assert "Traceback" not in output and not out.exists()
        assert list(out.parent.iterdir()) == []  # nothing staged beside it either


@pytest.mark.parametrize(
    "name",
    ["factornet_e2f1_gencode_dgf__best_model.hdf5", "factornet_rest_gencode_dgf__final_model.hdf5"],
    ids=["full-model", "weights+json"],
)
def test_factornet_keras1_converts_against_the_numpy_reference(convert_cli, name) -> None:
    # The same conversion the corpus sweep checks (the weights-only file with its --arch).
    code, output, out = convert_cli(name)
    assert code == 0, output
    report = json.loads((out / "report.json").read_text())
    assert report["passed"], output
    assert report["reference"]["runtime"] == "numpy"
    assert report["source"]["keras_version"] == "1.1.1"
    assert report["source"]["backend"] == "theano"
    changes = {p["name"]: p["changes"] for p in report["passes"]}
    assert "merge_3: Merge(mode='ave') -> Average" in changes["legacy_merge"]
    assert any("bidirectional_1: weights" in c for c in changes["keras1_layers"])
    for check in report["parity"]:
        if check["runtime"] == "onnx-reference":  # onnx 1.23's Loop: skipped, and says why
            assert check["status"] == "skipped" and "Loop" in check["reason"]
            continue
        assert check["max_abs"] <= 1e-5
        assert all(o["cosine"] > 0.99999 for o in check["outputs"])


def test_kipoi_coda_keras1_and_keras2_files_compute_the_same() -> None:
    keras1 = load_path(REAL_MODELS / "kipoi_extended_coda__weights.h5",
                       LoadOptions(arch=REAL_MODELS / "kipoi_extended_coda__model.json"))
    keras2 = load_path(REAL_MODELS / "kipoi_extended_coda_keras2__model.h5")
    assert keras1.provenance.format == "weights-h5+json"
    assert keras1.provenance.keras_version == "1.2.2" and keras2.provenance.keras_version == "2.1.4"
    x = np.random.default_rng(0).uniform(-2, 2, (2, 25025, 1)).astype(np.float32)
    a = run_graph(normalize(keras1.graph)[0], [x])[0]
    b = run_graph(normalize(keras2.graph)[0], [x])[0]
    assert a.shape == b.shape and np.abs(a).max() > 0.1
    assert np.abs(a - b).max() <= 1e-5


@pytest.mark.slow
def test_spliceai_onnx_is_at_most_one_node_per_layer_and_a_fifth(convert_cli) -> None:
    name = "spliceai__spliceai1.h5"
    code, output, out = convert_cli(name)
    assert code == 0, output
    report = json.loads((out / "report.json").read_text())
    layers = len(normalize(load_path(REAL_MODELS / name).graph)[0].layers)
    onnx_file = next(a for a in report["artifacts"] if a["format"] == "onnx")
    tflite = next(a for a in report["artifacts"] if a["format"] == "tflite")
    assert sum(onnx_file["op_counts"].values()) <= 1.2 * layers
    assert sum(onnx_file["op_counts_before"].values()) > 1.2 * layers  # tf2onnx's own
    assert "Pad" not in onnx_file["op_counts"] and "Unsqueeze" not in onnx_file["op_counts"]
    assert not {"SHAPE", "SPACE_TO_BATCH_ND"} & set(tflite["op_counts"])
