"""The parity engine, judged by what it catches.

Planted defects, crashes, the GPU path, static delegate checks and artifacts made by the
stock converters.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.options import ConvertOptions
from tests.conftest import sample
from tests.parity.plant import DEFECTS, plant_onnx, plant_tflite

pytestmark = pytest.mark.tf

# (sample, layer to plant in): a conv in the middle of a deep classifier (fused with its
# BatchNormalization and ReLU in the .tflite), and a gate conv deep in a WaveNet block.
TARGETS = [("ecg_classifier", "conv1"), ("wavenet_block", "gate2")]


def verify_cli(model: str, artifact: Path, *runtimes: str, power: str = "auto") -> tuple[int, dict]:
    args = ["verify", str(sample(f"{model}.keras")), str(artifact), "--json", "--power", power]
    for runtime in runtimes:
        args += ["--runtime", runtime]
    result = CliRunner().invoke(main, args)
    return result.exit_code, json.loads(result.output[result.output.index("{"):])


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("defect", sorted(DEFECTS))
@pytest.mark.parametrize(("model", "layer"), TARGETS, ids=[t[0] for t in TARGETS])
def test_planted_defect_is_caught_and_localised(converted, tmp_path, model, layer, defect, fmt):
    _, out = converted[f"{model}.keras"]
    planted = tmp_path / f"{model}.{fmt}"
    (plant_onnx if fmt == "onnx" else plant_tflite)(out / f"{model}.{fmt}", planted, layer,
                                                     DEFECTS[defect])
    runtime = "ort-cpu" if fmt == "onnx" else "tflite-xnnpack"
    # what is asserted is the check's verdict and localisation: no planted copies of its own
    code, report = verify_cli(model, planted, "keras", runtime, power="off")
    assert code == 1
    (check,) = report["parity"]
    assert check["status"] == "failed"
    assert check["localization"]["layer"] == layer, check["localization"]
    assert f"first diverging layer: {layer}" in check["reason"]


def test_unplanted_artifacts_pass_verify_on_every_cpu_runtime(converted) -> None:
    _, out = converted["ecg_classifier.keras"]
    result = CliRunner().invoke(main, ["verify", str(sample("ecg_classifier.keras")),
                                       str(out / "ecg_classifier.tflite"),
                                       str(out / "ecg_classifier.onnx")])
    assert result.exit_code == 0, result.output


def test_a_crashing_runtime_is_reported_and_the_others_stand(converted, monkeypatch) -> None:
    _, out = converted["text_conv1d.keras"]
    monkeypatch.setitem(os.environ, "CONVERTER_INJECT_FAULT", "tflite-builtin:segv")
    code, report = verify_cli("text_conv1d", out / "text_conv1d.tflite", "keras",
                              "tflite-xnnpack", "tflite-builtin", "tflite-reference")
    assert code == 1
    status = {c["runtime"]: (c["status"], c["reason"]) for c in report["parity"]}
    assert status["tflite-builtin"] == ("crashed", "crashed: SIGSEGV")
    assert status["tflite-xnnpack"][0] == status["tflite-reference"][0] == "passed"


def test_stock_converter_artifacts_verify(tmp_path) -> None:
    # Files made by TFLiteConverter.from_keras_model and tf2onnx.convert.from_keras, with
    # their own input and output names, are checked against the model all the same.
    import keras
    import tensorflow as tf
    import tf2onnx

    model = keras.saving.load_model(sample("multi_io.keras"), compile=False)
    tflite = tmp_path / "stock.tflite"
    tflite.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    import tf_keras

    legacy = tf_keras.models.load_model(sample("multi_io.h5"), compile=False)
    onnx_file = tmp_path / "stock.onnx"
    tf2onnx.convert.from_keras(legacy, opset=17, output_path=str(onnx_file))
    code, report = verify_cli("multi_io", tflite, "keras", "tflite-xnnpack")
    assert code == 0, report["parity"]
    result = CliRunner().invoke(main, ["verify", str(sample("multi_io.h5")), str(onnx_file),
                                       "--runtime", "keras", "--runtime", "ort-cpu"])
    assert result.exit_code == 0, result.output


def test_static_delegate_checks_in_the_report(converted) -> None:
    tcn = {a.format: a.delegates for a in converted["tcn.keras"][0].artifacts}
    assert tcn["tflite"]["gpu_analyzer_compatible"] is True
    # Dilated convs are emitted as one dilated CONV_2D: no SHAPE/SPACE_TO_BATCH_ND chains.
    assert tcn["tflite"]["gpu_static_graph"] is True and tcn["tflite"]["shape_ops"] == {}
    assert tcn["tflite"]["flex_ops"] == []
    assert tcn["tflite"]["dynamic_inputs"] == {"series": [-1, -1, 3]}  # named as in Keras
    # The causal Pads CoreML cannot place are folded into the Convs.
    assert "ai.onnx:Pad" not in tcn["onnx"]["coreml"]["unsupported_ops"]
    assert tcn["onnx"]["nnapi"]["unsupported_ops"] == []
    bilstm = converted["conv_bilstm.keras"][0].artifacts[1].delegates
    assert "ai.onnx:LSTM" in bilstm["coreml"]["unsupported_ops"]
    ecg = {a.format: a.delegates for a in converted["ecg_classifier.keras"][0].artifacts}
    assert ecg["tflite"]["gpu_static_graph"] is True
    assert ecg["onnx"]["coreml"]["supported_nodes"] <= ecg["onnx"]["coreml"]["nodes"]


def vulkan_reason() -> str:
    from converter.parity.runtimes.litert_gpu import vulkan_missing

    return vulkan_missing()


# Every sample but the fused BiLSTM (skipped: variable tensors, tested below), the
# dynamic-length TCN included (its causal PADs are 4-D, see layers/convolution_export).
GPU_SAMPLES = ["autoencoder", "channels_first", "ecg_classifier", "kernel_forms",
               "kim_cnn", "multi_io", "tcn", "text_conv1d", "wavenet_block"]


@pytest.mark.skipif(bool(vulkan_reason()), reason="no Vulkan driver (scripts/setup.sh as root)")
@pytest.mark.parametrize("model", GPU_SAMPLES)
def test_gpu_accelerator_fp16_and_fp32(converted, model) -> None:
    # The default matrix runs both where Vulkan is present: the session's conversions hold them
    result, _ = converted[f"{model}.keras"]
    checks = {c.runtime: c for c in result.parity if c.runtime.startswith("litert-gpu")}
    assert sorted(checks) == ["litert-gpu-fp16", "litert-gpu-fp32"]
    assert all(c.status == "passed" for c in checks.values()), checks
    assert checks["litert-gpu-fp32"].max_abs <= 1e-5
    fp16 = checks["litert-gpu-fp16"]
    assert 1e-5 < fp16.max_abs <= 1e-2  # fp16 rounding is visible, and bounded
    assert isinstance(fp16.facts["fully_accelerated"], bool)


@pytest.mark.skipif(bool(vulkan_reason()), reason="no Vulkan driver (scripts/setup.sh as root)")
def test_dynamic_length_tcn_runs_on_the_gpu_once_its_shape_is_static(tmp_path) -> None:
    from converter import convert

    result = convert(sample("tcn.keras"), ConvertOptions(
        output_dir=tmp_path, to=("tflite",), static_shape=True, static_length=64,
        runtimes=("litert-gpu-fp16", "litert-gpu-fp32")))
    assert result.passed, [c.reason for c in result.parity]
    assert all(c.facts["fully_accelerated"] for c in result.parity)


@pytest.mark.skipif(bool(vulkan_reason()), reason="no Vulkan driver (scripts/setup.sh as root)")
def test_gpu_refusal_of_a_graph_with_shape_ops_says_why(tmp_path) -> None:
    # The stock TFLiteConverter's dilated TCN: SPACE_TO_BATCH_ND sized by SHAPE ops.
    import tensorflow as tf
    import tf_keras

    stock = tmp_path / "tcn.tflite"
    model = tf_keras.models.load_model(sample("tcn.h5"), compile=False)
    stock.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    code, report = verify_cli("tcn", stock, "keras", "litert-gpu-fp16")
    assert report["artifacts"][0]["delegates"]["shape_ops"]
    assert code == 4  # asked for by name, and it cannot evaluate this file
    (check,) = report["parity"]
    assert check["status"] == "skipped"
    assert "the GPU accelerator refused the graph" in check["reason"]


@pytest.mark.skipif(bool(vulkan_reason()), reason="no Vulkan driver (scripts/setup.sh as root)")
@pytest.mark.parametrize(("unroll", "recurrent", "why"), [
    (16, "LSTM", ""), (0, "LSTM", "Variable tensors not yet supported"), (0, "GRU", "")])
def test_the_gpu_runs_recurrent_layers_and_says_what_it_accelerated(
        tmp_path, unroll: int, recurrent: str, why: str) -> None:
    import keras

    from converter import convert

    x = keras.Input((16, 3), name="x")
    layer = getattr(keras.layers, recurrent)
    h = keras.layers.Bidirectional(layer(4, return_sequences=True))(x)
    keras.Model(x, layer(3)(h)).save(tmp_path / "rnn.keras")
    result = convert(tmp_path / "rnn.keras", ConvertOptions(
        output_dir=tmp_path / "out", to=("tflite",), static_shape=True, power="off",
        unroll_recurrent=unroll, runtimes=("tflite-builtin", "litert-gpu-fp32")))
    gpu = next(c for c in result.parity if c.runtime == "litert-gpu-fp32")
    if why:  # a fused LSTM's variable tensors
        assert gpu.status == "skipped" and why in gpu.reason, gpu.reason
        assert result.exit_code == 4  # asked for by name, it cannot evaluate this file
        return
    assert result.passed and gpu.max_abs <= 1e-5, gpu.reason
    # unrolled: every op on the GPU; a GRU's WHILE loops run on the CPU beside it (the
    # loop's step read as one GATHER: a STRIDED_SLICE of packed indices made the
    # accelerator refuse the whole file)
    assert gpu.facts["fully_accelerated"] is bool(unroll)


@pytest.mark.parametrize(("runtime", "status", "code"),
                         [("ort-cpu", "timeout", 1), ("onnx-reference", "skipped", 4)])
def test_a_hang_is_a_timeout_but_a_slow_reference_evaluator_is_skipped(  # asked for: exit 4
        converted, monkeypatch, runtime, status, code) -> None:
    _, out = converted["text_conv1d.keras"]
    monkeypatch.setitem(os.environ, "CONVERTER_INJECT_FAULT", f"{runtime}:hang")
    result = CliRunner().invoke(main, [
        "verify", str(sample("text_conv1d.keras")), str(out / "text_conv1d.onnx"), "--json",
        "--timeout", "8", "--runtime", "keras", "--runtime", "ort-cpu-noopt", "--runtime",
        runtime])
    assert result.exit_code == code, result.output
    report = json.loads(result.output[result.output.index("{"):])
    checks = {c["runtime"]: c for c in report["parity"]}
    assert checks[runtime]["status"] == status
    assert checks[runtime]["reason"].startswith("no result within 8 s")
    assert checks["ort-cpu-noopt"]["status"] == "passed"


def test_verify_writes_junit_and_html_for_a_planted_defect(converted, tmp_path) -> None:
    _, out = converted["ecg_classifier.keras"]
    planted = tmp_path / "ecg_classifier.onnx"
    plant_onnx(out / "ecg_classifier.onnx", planted, "conv1", DEFECTS[sorted(DEFECTS)[0]])
    junit, page = tmp_path / "parity.xml", tmp_path / "parity.html"
    result = CliRunner().invoke(main, [
        "verify", str(sample("ecg_classifier.keras")), str(planted), str(out /
        "ecg_classifier.tflite"), "--runtime", "ort-cpu", "--runtime", "tflite-xnnpack",
        "--junit", str(junit), "--report", str(page), "--report-json", str(tmp_path / "r.json")])
    assert result.exit_code == 1, result.output
    root = ET.fromstring(junit.read_text())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"ort-cpu x ecg_classifier.onnx",
                          "tflite-xnnpack x ecg_classifier.tflite"}
    failure = cases["ort-cpu x ecg_classifier.onnx"].find("failure")
    assert failure is not None and "first diverging layer conv1" in failure.get("message")
    assert cases["tflite-xnnpack x ecg_classifier.tflite"].find("failure") is None
    assert "NOT PASSED (exit 1)" in page.read_text()
    assert json.loads((tmp_path / "r.json").read_text())["exit_code"] == 1


def test_plain_evaluators_on_large_cases_read_one_row_of_each_and_still_catch(
        converted, tmp_path, monkeypatch) -> None:
    # Every case counts as large here: the reference kernels read row 0 of the first case and
    # row 1 of the second, against the same rows of the reference and of the probed logits;
    # so do XNNPACK's planted copies, while its check reads every row.
    import converter.parity.sampling as sampling

    monkeypatch.setattr(sampling, "READ_WHOLE", 0.0)
    _, out = converted["ecg_classifier.keras"]
    code, report = verify_cli("ecg_classifier", out / "ecg_classifier.tflite", "keras",
                              "tflite-reference", "tflite-xnnpack")
    assert code == 0, report["parity"]
    checks = {c["runtime"]: c for c in report["parity"]}
    assert checks["tflite-reference"]["facts"]["rows"].startswith(
        "1 of 4 rows of each case (a different row in each): the cases cost ")
    assert [o["shape"][0] for o in checks["tflite-reference"]["outputs"]] == [1]
    assert [o["logits"]["shape"][0] for o in checks["tflite-reference"]["outputs"]] == [1]
    assert "rows" not in checks["tflite-xnnpack"]["facts"]
    assert [o["shape"][0] for o in checks["tflite-xnnpack"]["outputs"]] == [4]
    # the planted copies of the fp32 file run on the same rows (--power auto: XNNPACK's)
    power = checks["tflite-xnnpack"]["power"]
    assert power["rows"].startswith("the planted copies read 1 of 4 rows of each case")
    assert power["caught"] == power["planted"] == 4, power
    planted = tmp_path / "ecg_classifier.tflite"
    plant_tflite(out / "ecg_classifier.tflite", planted, "conv1", DEFECTS["one-channel-x1.01"])
    code, report = verify_cli("ecg_classifier", planted, "keras", "tflite-reference")
    assert code == 1 and report["parity"][0]["status"] == "failed", report["parity"]
    assert report["parity"][0]["localization"]["layer"] == "conv1"


def test_plain_evaluators_read_every_row_of_a_file_with_a_fixed_batch(tmp_path,
                                                                      monkeypatch) -> None:
    # A --static-shape file takes its batch of 4 only: however large, every row is read
    import converter.parity.sampling as sampling
    from converter import convert

    monkeypatch.setattr(sampling, "READ_WHOLE", 0.0)
    result = convert(sample("tcn.keras"), ConvertOptions(
        output_dir=tmp_path, runtimes=("tflite-reference", "onnx-reference"), power="off",
        static_shape=True, static_batch=4, static_length=64))
    assert result.passed, [c.reason for c in result.parity]
    assert [c.runtime for c in result.parity] == ["tflite-reference", "onnx-reference"]
    assert all("rows" not in c.facts and c.outputs[0].shape[0] == 4 for c in result.parity)
