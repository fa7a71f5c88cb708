"""Every source format end to end: Keras 1 files, --arch, SavedModel, Lambda, custom classes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.errors import UsageError
from converter.options import GPU_RUNTIMES, ConvertOptions
from tests.conftest import ROOT, gpu_here
from tests.load import keras1_writer as k1

pytestmark = pytest.mark.tf

X = np.random.default_rng(11).uniform(-2, 2, (3, k1.LENGTH, k1.CHANNELS)).astype(np.float32)


def run_artifacts(out: Path, stem: str, feed: np.ndarray) -> dict[str, np.ndarray]:
    """Outputs of the .tflite (LiteRT) and .onnx (onnxruntime) files on one batch."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(out / f"{stem}.tflite"))
    runner = interpreter.get_signature_runner()
    (tflite,) = runner(**{next(iter(runner.get_input_details())): feed}).values()
    session = ort.InferenceSession(str(out / f"{stem}.onnx"))
    (onnx,) = session.run(None, {session.get_inputs()[0].name: feed})
    return {"tflite": tflite, "onnx": onnx}


@pytest.mark.parametrize("backend", ["theano", "tensorflow"])
def test_keras1_file_converts_and_artifacts_match_the_hand_computation(tmp_path, backend) -> None:
    from converter import convert

    weights = k1.random_weights(21)
    path = k1.write_full_model(tmp_path / f"k1_{backend}.h5", weights, backend)
    out = tmp_path / "out"
    result = convert(path, ConvertOptions(output_dir=out))
    assert result.passed, result.parity
    assert result.report["reference"]["runtime"] == "numpy"
    assert {c.runtime for c in result.parity} == {
        "keras-normalized", "tflite-xnnpack", "tflite-builtin", "tflite-reference", "ort-cpu",
        "ort-cpu-noopt", "onnx-reference", "litert-gpu-fp16", "litert-gpu-fp32"}
    gpu = "passed" if gpu_here() else "skipped"  # the mobile GPU path, where Vulkan is
    assert all(c.status == (gpu if c.runtime in GPU_RUNTIMES else "passed")
               for c in result.parity)
    expected = k1.expected_output(X, weights, backend)
    for runtime, value in run_artifacts(out, path.stem, X).items():
        assert np.abs(value - expected).max() <= 1e-5, runtime
    changes = {p.name: p.changes for p in result.passes}
    flipped = "convolution1d_1: kernel reversed along its length (Theano -> TensorFlow convention)"
    assert (flipped in changes["theano_kernels"]) == (backend == "theano")


def test_cli_weights_only_without_arch_exits_3(tmp_path) -> None:
    path = k1.write_weights_only(tmp_path / "w.h5", k1.random_weights(1), "tensorflow")
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 3
    assert "pass it with --arch model.json (or .yaml)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_cli_arch_yaml_converts(tmp_path) -> None:
    path = k1.write_weights_only(tmp_path / "w.h5", k1.random_weights(2), "theano")
    arch = tmp_path / "model.yaml"
    arch.write_text(k1.YAML_ARCH)
    result = CliRunner().invoke(main, ["convert", str(path), "--arch", str(arch), "-o",
                                       str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["source"]["format"] == "weights-h5+yaml"
    assert report["source"]["backend"] == "theano"


def test_inspect_keras1_file_is_fast_and_imports_no_tensorflow(tmp_path) -> None:
    path = k1.write_full_model(tmp_path / "k1.h5", k1.random_weights(3), "theano")
    code = ("import sys; from converter.cli import main; sys.argv=['converter','inspect',"
            f"{str(path)!r},'--json']\ntry: main()\nexcept SystemExit as e: status=e.code\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["source"]["format"] == "keras1-h5" and found["reference"] == "numpy"
    assert found["source"]["backend_decided_by"].startswith("no ':0' suffix")
    assert [x["class_name"] for x in found["layers"]] == [
        "InputLayer", "Convolution1D", "MaxPooling1D", "Dropout", "Flatten", "Dense"]
    keras1 = next(p for p in found["passes"] if p["name"] == "keras1_layers")
    assert "convolution1d_1: Convolution1D -> Conv1D" in keras1["changes"]
    assert found["unsupported"] == []


def make_lambda_model(tmp_path: Path, marker: Path) -> Path:
    import keras

    x = keras.Input((8, 2), name="x")
    # The path is a constant in the bytecode (a captured Path would not serialise).
    function = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")  # noqa: S307
    touch = keras.layers.Lambda(function, name="touch")
    y = keras.layers.Conv1D(2, 3, name="conv")(touch(x))
    path = tmp_path / "lambda.keras"
    keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name="double")(y)).save(path)
    marker.unlink(missing_ok=True)  # building the model ran the lambda once
    return path


def test_lambda_model_is_refused_and_its_code_never_runs(tmp_path) -> None:
    marker = tmp_path / "marker"
    path = make_lambda_model(tmp_path, marker)
    for command in (["convert", str(path), "-o", str(tmp_path / "out")], ["inspect", str(path)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3, result.output
        assert "touch (Lambda: its function is marshalled Python bytecode); double (Lambda" in \
            result.output
        assert "--allow-lambda" in result.output
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_custom_objects_bring_a_users_layer(tmp_path, monkeypatch) -> None:
    import keras

    from tests.fixtures.custom_layers import Scale

    x = keras.Input((10, 3), name="x")
    y = Scale(name="scale")(keras.layers.Conv1D(4, 3, name="conv")(x))
    model = keras.Model(x, y)
    model.get_layer("scale").set_weights([np.array([0.5, 2.0, -1.0, 3.0], np.float32)])
    path = tmp_path / "custom.keras"
    model.save(path)
    refused = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "no")])
    assert refused.exit_code == 3
    assert "scale (class Scale is not a Keras 3 layer)" in refused.output
    assert "--custom-objects module:Class" in refused.output
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "out"),
                                       "--custom-objects", "tests.fixtures.custom_layers:Scale"])
    assert result.exit_code == 0, result.output


def test_keras3_export_savedmodel_converts_from_its_signature(tmp_path) -> None:
    import keras

    from converter import convert

    x = keras.Input((16, 2), name="x")
    model = keras.Model(x, keras.layers.Conv1D(3, 5, padding="same", name="conv")(x))
    model.export(str(tmp_path / "exported"), verbose=False)
    # Converted by a process of its own (joining the session's servers): reading the
    # directory needs TensorFlow, which the TensorFlow server has; the converting process
    # never imports it (TensorFlow once per conversion).
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from converter import ConvertOptions, convert\n"
        f"r = convert(Path({str(tmp_path / 'exported')!r}), "
        f"ConvertOptions(output_dir=Path({str(tmp_path / 'out')!r})))\n"
        "print(json.dumps([r.passed, r.provenance.format, [p.name for p in r.passes],"
        " r.artifacts[0].op_counts.get('CONV_2D'), 'tensorflow' in sys.modules,"
        " [(c.runtime, c.reason) for c in r.parity if c.status == 'failed']]))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    passed, fmt, passes, convs, tensorflow, failed = json.loads(done.stdout.splitlines()[-1])
    assert passed and not failed, failed
    assert fmt == "savedmodel-signature" and passes == ["normalization skipped"]
    assert convs == 1 and tensorflow is False
    with pytest.raises(UsageError, match="--dynamic-length needs the model's layers"):
        convert(tmp_path / "exported", ConvertOptions(output_dir=tmp_path / "open",
                                                      dynamic_length=True))
    # inspect loads it with TensorFlow in its own process: none of TensorFlow's start-up
    # lines reach the user's terminal
    inspected = subprocess.run([sys.executable, "-m", "converter", "inspect",
                                str(tmp_path / "exported")], capture_output=True, text=True)
    assert inspected.returncode == 0, inspected.stderr
    assert "savedmodel-signature" in inspected.stdout
    assert not [line for line in inspected.stderr.splitlines() if line.strip()], \
        inspected.stderr


def test_allow_lambda_is_an_explicit_reported_opt_in(tmp_path) -> None:
    import keras

    from converter import convert

    x = keras.Input((8, 2), name="x")
    y = keras.layers.Lambda(lambda t: t * 3.0, name="triple")(keras.layers.Conv1D(2, 3)(x))
    path = tmp_path / "lam.keras"
    keras.Model(x, y).save(path)
    result = convert(path, ConvertOptions(output_dir=tmp_path / "out", allow_lambda=True))
    assert result.passed, result.parity
    assert result.report["safety"]["lambda_bytecode_allowed"] is True
    assert "--allow-lambda" in result.report["safety"]["note"]


def test_live_tf_keras_model(tmp_path) -> None:
    import tf_keras

    from converter import convert

    model = tf_keras.Sequential([tf_keras.Input((12, 2)), tf_keras.layers.Conv1D(3, 3),
                                 tf_keras.layers.GlobalMaxPooling1D()], name="tfk")
    result = convert(model, ConvertOptions(output_dir=tmp_path / "out"))
    assert result.passed and result.provenance.path == "<in-memory tf_keras.Model tfk>"
    assert result.report["reference"]["loader"] == "tf_keras"


def test_a_config_key_keras3_does_not_know_stops_the_build_naming_it(load_sample) -> None:
    from dataclasses import replace

    from converter.build import build
    from converter.errors import BuildError
    from converter.normalize import normalize

    graph, _ = normalize(load_sample("text_conv1d.h5").graph)
    layers = tuple(replace(x, config={**x.config, "mystery_key": 1})
                   if x.class_name == "Conv1D" else x for x in graph.layers)
    with pytest.raises(BuildError, match=r"layer conv \(Conv1D\).*mystery_key"):
        build(replace(graph, layers=layers))


def test_tf_keras_written_keras_zip_maps_generated_group_names(tmp_path) -> None:
    # tf.keras' .keras writer records no layer names; groups are conv1d, dense, ...
    import tf_keras

    from converter.load import load_path
    from sample_models.catalogue import channels_first

    model = channels_first(tf_keras)
    model.save(tmp_path / "cf.keras")
    loaded = load_path(tmp_path / "cf.keras")
    assert loaded.provenance.keras_version.startswith("2.")
    assert [w.shape for w in loaded.graph.layer("conv").weights] == [(3, 4, 8), (8,)]
    assert [w.shape for w in loaded.graph.layer("out").weights] == [(184, 3), (3,)]
