"""The real-model corpus (../shared/real_models), skipped where absent.

Every model converts with parity passed, or fails with exit 3 naming the layer it cannot
handle and the remedy.
"""

from __future__ import annotations

import csv
import json
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.load import LoadOptions, load_path
from converter.normalize import normalize
from converter.reference import run_graph
from tests.conftest import REAL_MODELS
from tests.integration.power import measured_power

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
    "tcnstock__tcn_model.keras": "passed",  # keras-tcn's TCN expanded (extensions/keras_tcn)
    "praali__cnn1d_model.keras": "passed",
    "cnn1dvar__CNN1D_Model_4H_LSTM.h5": "passed",
    "synthecg__ecg_model.h5": "passed",
    "stockcnn__cnn1d_model": "passed",
    # Its custom attention class sends it to its serving signature, whose GRU loop the
    # TFLite converter takes only with TensorFlow ops (Flex), which converter never emits.
    "oncemylove__ecg_model": "'tf.TensorListReserve' op requires element_shape to be static",
    "kipoi_extended_coda__weights.h5": "passed",
    "kipoi_extended_coda_keras2__model.h5": "passed",
    "kipoi_rbp__weights.h5": "spline_t_6 (class SplineT is not a Keras 3 layer)",
    "sentweb__wordvec_cnn_weights.h5": "passed",
    "dfdpulse__wavenet.h5": "passed",
    "nssa__cnn_bilstm_model.h5": "passed",
    "nids__cnn_bilstm_model.h5": "passed",
    "climator__TCN_Model_V2": "passed",
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


def corpus_config(directory: Path) -> Path:
    """A batch file of the whole corpus, weights-only files with their --arch companion."""
    lines = []
    for name, companion in manifest():
        lines += ["[[models]]", f"path = {json.dumps(str(REAL_MODELS / name))}"]
        if companion:
            lines.append(f"arch = {json.dumps(str(REAL_MODELS / companion))}")
    config = directory / "corpus.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """`converter batch` over the corpus, two models at a time, each in its own process.

    Returns {file name: summary entry} and keeps each entry's output directory as "out".
    """
    root = tmp_path_factory.mktemp("corpus")
    result = CliRunner().invoke(main, ["batch", str(corpus_config(root)), "-o",
                                       str(root / "out"), "-j", "2", "-q"])
    output = result.output
    if result.exc_info and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(*result.exc_info))  # for CI's log
    assert result.exit_code == 3, output  # the custom-layer models; nothing worse
    summary = json.loads((root / "out" / "summary.json").read_text())
    names = [name for name, _ in manifest()]
    assert len(summary["models"]) == len(names)
    return {name: {**entry, "out": root / "out" / entry["dir"]}
            for name, entry in zip(names, summary["models"], strict=True)}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "companion"), manifest(), ids=[n for n, _ in manifest()])
def test_every_real_model_converts_or_names_what_it_cannot_handle(corpus, name, companion):
    expected = EXPECTED[name]  # a new corpus entry must be given its expectation here
    entry = corpus[name]
    if expected == "passed":
        assert entry["exit_code"] == 0 and entry["passed"], entry["error"] or [
            (c["runtime"], c["artifact"], c["reason"]) for c in entry["report"]["parity"]
            if c["status"] != "passed"]
    else:
        assert entry["exit_code"] == 3 and entry["report"] is None, entry["error"]
        assert expected in entry["error"], entry["error"]
        assert CUSTOM in entry["error"] or "(class" not in expected
        assert "Traceback" not in entry["error"] and not entry["out"].exists()
        staged = [p.name for p in entry["out"].parent.iterdir() if p.name.startswith(".")]
        assert staged == []  # nothing staged beside it either


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["factornet_e2f1_gencode_dgf__best_model.hdf5", "factornet_rest_gencode_dgf__final_model.hdf5"],
    ids=["full-model", "weights+json"],
)
def test_factornet_keras1_converts_against_the_numpy_reference(corpus, name) -> None:
    # The same conversion the corpus sweep checks (the weights-only file with its --arch).
    entry = corpus[name]
    assert entry["exit_code"] == 0, entry["error"]
    report = json.loads((entry["out"] / "report.json").read_text())
    assert report == entry["report"] and report["passed"]
    assert report["reference"]["runtime"] == "numpy"
    assert report["source"]["keras_version"] == "1.1.1"
    assert report["source"]["backend"] == "theano"
    changes = {p["name"]: p["changes"] for p in report["passes"]}
    assert "merge_3: Merge(mode='ave') -> Average" in changes["legacy_merge"]
    assert any("bidirectional_1: weights" in c for c in changes["keras1_layers"])
    for check in report["parity"]:
        if check["runtime"] == "onnx-reference":  # onnx 1.23 ignores LSTM activations
            assert check["status"] == "skipped" and "HardSigmoid" in check["reason"]
            continue
        if check["runtime"].startswith("litert-gpu") and check["status"] == "skipped":
            continue  # no Vulkan driver here
        if check["runtime"] == "litert-gpu-fp16":  # fp16 arithmetic: its own tolerance
            assert check["status"] == "passed" and check["max_abs"] <= 1e-2
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
def test_spliceai_onnx_is_at_most_one_node_per_layer_and_a_fifth(corpus) -> None:
    name = "spliceai__spliceai1.h5"
    report = corpus[name]["report"]
    assert corpus[name]["exit_code"] == 0, corpus[name]["error"]
    layers = len(normalize(load_path(REAL_MODELS / name).graph)[0].layers)
    onnx_file = next(a for a in report["artifacts"] if a["format"] == "onnx")
    tflite = next(a for a in report["artifacts"] if a["format"] == "tflite")
    assert sum(onnx_file["op_counts"].values()) <= 1.2 * layers
    assert sum(onnx_file["op_counts_before"].values()) > 1.2 * layers  # tf2onnx's own
    # Every conv wider than 1 (32) runs as a Conv2D, the 24 dilated ones over rows; the one
    # Pad rounds the input's length for the rows at run time (fold_pad folded the convs').
    assert onnx_file["graph_passes"]["conv_layouts"] == 32
    assert onnx_file["op_counts"]["Pad"] == 1 and "Unsqueeze" not in onnx_file["op_counts"]
    assert any("rows" in note for note in onnx_file["lowerings"])
    assert not {"SHAPE", "SPACE_TO_BATCH_ND"} & set(tflite["op_counts"])


PASSING = [name for name, _ in manifest() if EXPECTED.get(name) == "passed"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PASSING, ids=PASSING)
def test_every_real_model_check_is_informative_and_catches_its_planted_defects(corpus, name):
    report = corpus[name]["report"]
    inputs = report["inputs"]
    assert inputs["source"] == "synthetic" and inputs["note"] and inputs["rows"]
    assert inputs["information"], "each output's information is reported"
    checks = report["parity"]
    assert not [c for c in checks if c["status"] == "inconclusive"]
    powered = [c for c in checks if c.get("power")]
    assert {c["runtime"] for c in powered} >= {"ort-cpu"}, [c["runtime"] for c in checks]
    # Where the copies would cost more than the check (by default they are then not run,
    # and the report says so), --power full measures them: every check is held to it.
    companion = dict(manifest())[name]
    measured = measured_power(REAL_MODELS / name, corpus[name]["out"], powered,
                              REAL_MODELS / companion if companion else None)
    missed = [(c["runtime"], c["artifact"], d["defect"], d["max_abs"])
              for c, power in zip(powered, measured, strict=True)
              for d in power["defects"] if not d["caught"]]
    assert missed == []
    assert all(power["planted"] >= 3 for power in measured)


@pytest.mark.slow
def test_recurrent_onnx_files_build_no_zero_states_at_run_time(corpus) -> None:
    recurrent = {}
    for name in PASSING:
        onnx_file = next(a for a in corpus[name]["report"]["artifacts"] if a["format"] == "onnx")
        if {"LSTM", "GRU", "RNN"} & set(onnx_file["op_counts"]):
            recurrent[name] = onnx_file
    assert len(recurrent) >= 3, sorted(recurrent)  # cnn1dvar, nssa, nids, FactorNet
    for name, onnx_file in recurrent.items():
        assert "ConstantOfShape" not in onnx_file["op_counts"], (name, onnx_file["op_counts"])
        # tf2onnx's LSTMs get their zero states removed; FactorNet's nodes are converter's
        # own (layers/recurrent_onnx), written without any
        assert onnx_file["graph_passes"]["default_states"] >= 1 or name.startswith(
            "factornet"), name


# (fused LSTM directions, TFLite ops) of each real model with LSTMs: the sigmoid-gated ones are
# fused; FactorNet's hard_sigmoid ones loop (4 loops: a BiLSTM called on both strands). Ops
# when every LSTM was unrolled or a loop: cnn1dvar 416, nssa 1,407, nids 532, nonbangkok 657,
# nithishhar 445, FactorNet 5,322 (182 with one activation per gate in its loop bodies).
FUSED_LSTMS = {"cnn1dvar__CNN1D_Model_4H_LSTM.h5": (4, 52), "nssa__cnn_bilstm_model.h5": (4, 34),
               "nids__cnn_bilstm_model.h5": (4, 24), "nonbangkok__model.h5": (2, 38),
               "nonbangkok__model.keras": (2, 38), "nithishhar__har_model.keras": (1, 25),
               "factornet_e2f1_gencode_dgf__best_model.hdf5": (0, 140),
               "factornet_rest_gencode_dgf__final_model.hdf5": (0, 140)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FUSED_LSTMS))
def test_real_lstms_are_fused_ops_and_factornet_loops_in_few_ops(corpus, name) -> None:
    from converter.export.flatbuffer import unpacked

    tflite = next(a for a in corpus[name]["report"]["artifacts"] if a["format"] == "tflite")
    counts = tflite["op_counts"]
    fused, ops = FUSED_LSTMS[name]
    assert counts.get("UNIDIRECTIONAL_SEQUENCE_LSTM", 0) == fused, counts
    assert sum(counts.values()) <= ops, counts
    assert not [op for op in counts if op.isupper() is False], counts  # no custom op left
    graph = unpacked((corpus[name]["out"] / tflite["path"]).read_bytes()).subgraphs[0]
    main = len(graph.operators)
    if fused:
        assert "WHILE" not in counts and tflite["lowerings"] == []
    else:  # FactorNet
        assert counts["WHILE"] == 4 and main <= 80, (main, counts)
        assert len(tflite["lowerings"]) == 2  # forward and backward, named with the reason
        assert all("hard_sigmoid" in line for line in tflite["lowerings"])
