"""Every recurrent real model and sample at a dynamic length and at a static 1,500 steps.

The corpus sweep converts each at the length it declares; here `--dynamic-length` opens
that length (parity at the lengths the search picks) and `--dynamic-length --static-shape
--static-length 1500` fixes another, longer than any unrolling limit. A model whose weights
are tied to its declared length (a Flatten before a Dense) is refused with exit 2, naming
the layer. One batch, two models at a time, every CPU runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from tests.conftest import REAL_MODELS, sample

pytestmark = [
    pytest.mark.tf, pytest.mark.slow,
    pytest.mark.skipif(not (REAL_MODELS / "MANIFEST.tsv").exists(), reason="corpus absent"),
]

CPU_RUNTIMES = ("keras", "keras-normalized", "numpy", "tflite-xnnpack", "tflite-builtin",
                "tflite-reference", "ort-cpu", "ort-cpu-noopt", "onnx-reference")
# model -> fused LSTM directions in its TFLite file (the same as at its declared length)
OPEN = {"nssa__cnn_bilstm_model.h5": 4, "nids__cnn_bilstm_model.h5": 4,
        "nonbangkok__model.keras": 2, "nonbangkok__model.h5": 2,
        "nithishhar__har_model.keras": 1, "conv_bilstm.keras": 2}
# model -> the layer that ties it to its declared length
TIED = {"factornet_e2f1_gencode_dgf__best_model.hdf5": "layer dense_2 (Dense)",
        "cnn1dvar__CNN1D_Model_4H_LSTM.h5": "layer dense_2 (Dense)"}
FORMS = {"dynamic": "dynamic_length = true",
         "static1500": "dynamic_length = true\nstatic_shape = true\nstatic_length = 1500"}


def path_of(name: str) -> Path:
    return sample(name) if name == "conv_bilstm.keras" else REAL_MODELS / name


@pytest.fixture(scope="module")
def lengths(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """{(model, form): summary entry} of one batch over both forms of every model."""
    root = tmp_path_factory.mktemp("lengths")
    # parity on every CPU runtime is what is asserted, not the planted copies' power
    lines = ["[defaults]", f"runtimes = {json.dumps(list(CPU_RUNTIMES))}", 'power = "off"']
    keys = []
    for name in (*OPEN, *TIED):
        for form, options in FORMS.items():
            lines += ["[[models]]", f"path = {json.dumps(str(path_of(name)))}",
                      f'name = "{Path(name).stem}-{Path(name).suffix[1:]}-{form}"', options]
            keys.append((name, form))
    (root / "lengths.toml").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["batch", str(root / "lengths.toml"), "-o",
                                       str(root / "out"), "-j", "2", "-q"])
    assert (root / "out" / "summary.json").exists(), result.output
    summary = json.loads((root / "out" / "summary.json").read_text())
    assert len(summary["models"]) == len(keys), result.output
    return {key: {**entry, "out": root / "out" / entry["dir"]}
            for key, entry in zip(keys, summary["models"], strict=True)}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("name", sorted(OPEN))
def test_a_recurrent_model_passes_every_cpu_check_at_another_length(lengths, name, form):
    entry = lengths[(name, form)]
    assert entry["exit_code"] == 0, entry["error"]
    report = entry["report"]
    failed = [(c["runtime"], c["reason"]) for c in report["parity"] if c["status"] != "passed"]
    assert report["passed"] and not failed, failed
    ran = {c["runtime"] for c in report["parity"]} | {report["reference"]["runtime"]}
    assert ran >= set(CPU_RUNTIMES) - {"keras"}  # tf.keras Sequential files refuse a length
    steps = None if form == "dynamic" else 1500
    for artifact in report["artifacts"]:
        assert [i["shape"][1] for i in artifact["io"]["inputs"]] == [steps], artifact["io"]
    tflite = next(a for a in report["artifacts"] if a["format"] == "tflite")
    assert tflite["op_counts"].get("UNIDIRECTIONAL_SEQUENCE_LSTM") == OPEN[name]
    assert "WHILE" not in tflite["op_counts"]
    if form == "dynamic":  # parity ran at lengths other than the declared one
        assert len({case[k][1] for case in report["inputs"]["cases"] for k in case}) >= 2


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("name", sorted(TIED))
def test_a_model_tied_to_its_length_is_refused_naming_the_layer(lengths, name, form):
    entry = lengths[(name, form)]
    assert entry["exit_code"] == 2 and entry["report"] is None, entry
    assert TIED[name] in entry["error"] and "convert without --dynamic-length" in entry["error"]
    assert "Traceback" not in entry["error"] and not entry["out"].exists()
