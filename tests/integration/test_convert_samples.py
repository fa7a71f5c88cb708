"""End to end on the sample models: artifacts, report contract, parity numbers, op counts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from converter.normalize import normalize
from converter.options import GPU_RUNTIMES
from sample_models.catalogue import CATALOGUE
from tests.conftest import gpu_here, sample
from tests.integration.conftest import SUPPORTED_FILES
from tests.integration.power import measured_power

pytestmark = pytest.mark.tf

# Convolution ops each Keras layer class must become (no more, no fewer).
TFLITE_CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")
ONNX_CONV_OPS = ("Conv", "ConvTranspose")
CONVS_PER_LAYER = {"Conv1D": 1, "SeparableConv1D": 2, "Conv1DTranspose": 1}


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_artifacts_and_report_contract(converted, name: str) -> None:
    result, out = converted[name]
    stem = name.rsplit(".", 1)[0]
    assert result.passed and result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}.tflite", f"{stem}.onnx", "report.json"]
    )
    report = json.loads((out / "report.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    assert report["schema"] == "converter.report/1" and report["passed"] is True
    source = report["source"]
    assert source["format"] == ("keras-v3" if name.endswith(".keras") else "keras2-h5")
    assert source["sha256"] == hashlib.sha256(
        Path(source["path"]).read_bytes()
    ).hexdigest()
    assert {p["name"] for p in report["passes"]} >= {"canonical_tuples", "keras2_drift"}
    assert all(isinstance(p["modified"], bool) for p in report["passes"])
    for artifact in report["artifacts"]:
        data = (out / artifact["path"]).read_bytes()
        assert artifact["bytes"] == len(data)
        assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
        assert artifact["precision"] == "fp32" and artifact["op_counts"]
    assert report["reference"]["status"] == "ok"
    assert {(p["runtime"], p["artifact"]) for p in report["parity"]} == {
        ("keras-normalized", "normalized-graph"), ("numpy", "normalized-graph"),
        ("tflite-xnnpack", f"{stem}.tflite"), ("tflite-builtin", f"{stem}.tflite"),
        ("tflite-reference", f"{stem}.tflite"), ("ort-cpu", f"{stem}.onnx"),
        ("ort-cpu-noopt", f"{stem}.onnx"), ("onnx-reference", f"{stem}.onnx"),
        ("litert-gpu-fp16", f"{stem}.tflite"), ("litert-gpu-fp32", f"{stem}.tflite"),
    }


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_parity_numbers_are_within_the_catalogue_bound(converted, name: str) -> None:
    result, _ = converted[name]
    bound = CATALOGUE[name.rsplit(".", 1)[0]].fp32_atol
    for check in result.parity:
        if check.runtime in GPU_RUNTIMES and not gpu_here():
            assert check.status == "skipped" and "Vulkan" in check.reason
            continue
        if check.runtime in GPU_RUNTIMES and name.startswith("conv_bilstm"):
            # its fused LSTMs keep their states in variable tensors: CompiledModel loads none
            assert check.status == "skipped" and "Variable tensors" in check.reason
            continue
        assert check.status == "passed", check.reason
        if check.runtime == "litert-gpu-fp16":  # fp16 arithmetic: its own, wider bound
            assert 0.0 <= check.max_abs <= 1e-2
            assert all(o.passed and o.cosine > 0.9999 for o in check.outputs)
            continue
        assert 0.0 <= check.max_abs <= bound
        assert all(o.passed and o.cosine > 0.999999 for o in check.outputs)
        assert all(o.top1_agreement in (None, 1.0) for o in check.outputs)


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_one_convolution_op_per_convolution(converted, load_sample, name: str) -> None:
    result, _ = converted[name]
    graph, _ = normalize(load_sample(name).graph)
    expected = sum(CONVS_PER_LAYER.get(layer.class_name, 0) for layer in graph.layers)
    counts = {a.format: a.op_counts for a in result.artifacts}
    assert sum(counts["tflite"].get(op, 0) for op in TFLITE_CONV_OPS) == expected
    assert sum(counts["onnx"].get(op, 0) for op in ONNX_CONV_OPS) == expected
    # Weights are frozen into constants, not read from resource variables.
    assert "READ_VARIABLE" not in counts["tflite"] and "VAR_HANDLE" not in counts["tflite"]


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_numpy_reference_agrees_with_keras(converted, name: str) -> None:
    # The independent float64 interpreter against Keras float32, on the normalised graph.
    result, _ = converted[name]
    check = next(c for c in result.parity if c.runtime == "numpy")
    assert check.status == "passed", check.reason
    assert check.max_abs <= 1e-5 and all(o.cosine > 0.999999 for o in check.outputs)


def test_dynamic_length_model_is_checked_at_several_lengths(converted) -> None:
    result, _ = converted["tcn.keras"]
    cases = result.report["inputs"]["cases"]
    assert [c["series"] for c in cases] == [[4, 32, 3], [4, 97, 3]]
    assert result.artifacts[0].op_counts.get("CONV_2D") == 5


# Samples made only of convolutions, pooling and dense layers: their ONNX graphs must hold
# Transposes only at the model boundary.
CONV_ONLY = ("text_conv1d", "ecg_classifier", "tcn", "wavenet_block", "multi_io",
             "kernel_forms", "channels_first")
RUN_TIME_SHAPE_OPS = ("SHAPE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_graph_quality_rules(converted, load_sample, name: str) -> None:
    import onnx

    result, out = converted[name]
    stem = name.rsplit(".", 1)[0]
    graph, _ = normalize(load_sample(name).graph)
    tflite = next(a for a in result.artifacts if a.format == "tflite").op_counts
    assert not any(op in tflite for op in RUN_TIME_SHAPE_OPS), tflite
    # A PAD only where TFLite cannot express the padding: causal and polyphase convs.
    explicit = sum(1 for x in graph.layers if x.config.get("padding") == "causal"
                   or x.class_name == "Conv1DTranspose")
    assert tflite.get("PAD", 0) <= explicit
    model = onnx.load(out / f"{stem}.onnx")
    producers = {o: n for n in model.graph.node for o in n.output}
    readers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for value in node.input:
            readers.setdefault(value, []).append(node.op_type)
    onnx_artifact = next(a for a in result.artifacts if a.format == "onnx")
    lowered = onnx_artifact.graph_passes.get("conv_layouts", 0)
    # the report says which lowering, and why each Transpose inside the graph is there
    assert bool(lowered) == any("run as Conv2Ds" in n for n in onnx_artifact.lowerings)
    kept = sum(int(n.split()[0]) for n in onnx_artifact.lowerings if "Transpose(s) kept" in n)
    inside = [n for n in model.graph.node if n.op_type == "Transpose"
              and n.input[0] not in {i.name for i in model.graph.input}
              and n.output[0] not in {o.name for o in model.graph.output}]
    assert kept == len(inside), onnx_artifact.lowerings
    for conv in (n for n in model.graph.node if n.op_type == "Conv"):
        weights = next(i for i in model.graph.initializer if i.name == conv.input[1])
        # native 1-D, or (for onnxruntime at a dynamic length) a Conv2D with one axis of 1
        assert len(weights.dims) == 3 or (lowered and len(weights.dims) == 4
                                          and 1 in weights.dims[2:])
        source = producers.get(conv.input[0])
        assert source is None or source.op_type not in ("Unsqueeze", "Pad")
        assert "Squeeze" not in readers.get(conv.output[0], [])
    assert "Pad" not in result.artifacts[1].op_counts
    if stem in CONV_ONLY:
        boundary_in = {i.name for i in model.graph.input}
        boundary_out = {o.name for o in model.graph.output}
        for node in model.graph.node:
            if node.op_type == "Transpose":
                assert node.input[0] in boundary_in or node.output[0] in boundary_out


def test_tcn_onnx_is_one_conv_per_convolution_and_nothing_else(converted) -> None:
    import onnx

    _, out = converted["tcn.keras"]
    model = onnx.load(out / "tcn.onnx")
    # for onnxruntime the whole chain runs as (N, C, 1, L): one Reshape in, the model's own out
    assert [n.op_type for n in model.graph.node] == [
        "Transpose", "Reshape", "Conv", "Conv", "Relu", "Add", "Conv", "Relu", "Add", "Conv",
        "Relu", "Add", "Conv", "Reshape"]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    pads = [next(list(a.ints) for a in n.attribute if a.name == "pads") for n in convs[1:4]]
    assert pads == [[0, 2, 0, 0], [0, 4, 0, 0], [0, 8, 0, 0]]  # the causal pads, folded
    dilations = [next(list(a.ints) for a in n.attribute if a.name == "dilations")
                 for n in convs[1:4]]
    assert dilations == [[1, 1], [1, 2], [1, 4]]


def test_channels_first_converts_from_both_libraries(converted) -> None:
    for name in ("channels_first.keras", "channels_first.h5"):
        result, _ = converted[name]
        assert result.passed
        record = next(p for p in result.passes if p.name == "channels_last")
        assert "conv: data_format channels_first -> channels_last" in record.changes
        tflite = result.artifacts[0].op_counts
        assert tflite["CONV_2D"] == 1 and tflite.get("TRANSPOSE") == 1
    keras3 = converted["channels_first.keras"][0].provenance.keras_version
    assert keras3.startswith("3.") and converted["channels_first.h5"][0].provenance.keras_version \
        .startswith("2.")


@pytest.mark.parametrize("name", SUPPORTED_FILES)
def test_every_check_is_informative_and_catches_its_planted_defects(converted, name: str) -> None:
    result, out = converted[name]
    inputs = result.report["inputs"]
    assert inputs["source"] == "synthetic" and inputs["rows"] and inputs["note"]
    assert all(found["informative"] or found["logits_informative"]
               for found in inputs["information"].values()), inputs["information"]
    assert [c for c in result.parity if c.status == "inconclusive"] == []
    powered = [c for c in result.report["parity"] if c.get("power")]
    # By default the optimised CPU runtimes run the copies: XNNPACK, builtin, ORT both ways,
    # where they cost less than the check (an unrolled BiLSTM's copies may not): --power full
    # measures the rest.
    assert sorted({c["runtime"] for c in powered}) == ["ort-cpu", "ort-cpu-noopt",
                                                       "tflite-builtin", "tflite-xnnpack"]
    measured = measured_power(sample(name), out, powered)
    assert all(power["planted"] >= 3 for power in measured), measured
    missed = [(c["runtime"], c["artifact"], d["defect"], d["max_abs"])
              for c, power in zip(powered, measured, strict=True)
              for d in power["defects"] if not d["caught"]]
    assert missed == []
    assert {d["kind"] for power in measured for d in power["defects"]} >= {
        "layer", "middle channel", "last channel"}
