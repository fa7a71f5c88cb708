"""A check that could not fail is not a pass: a saturated classifier's planted logit change
is caught through its logits, and an uninformative reference is reported as such."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REAL_MODELS

pytestmark = pytest.mark.tf
SYNTHECG = REAL_MODELS / "synthecg__ecg_model.h5"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """synthecg's ONNX file, and a copy whose last Dense weighs classes 1-4 by 1.3."""
    import onnx
    from onnx import numpy_helper

    from converter import ConvertOptions, convert

    if not SYNTHECG.exists():
        pytest.skip("corpus absent")
    out = tmp_path_factory.mktemp("synthecg")
    result = convert(SYNTHECG, ConvertOptions(output_dir=out, to=("onnx",),
                                              runtimes=("ort-cpu",)))
    assert result.passed, [(c.runtime, c.reason) for c in result.parity]
    model = onnx.load(out / "synthecg__ecg_model.onnx")
    weights = {i.name: i for i in model.graph.initializer}
    last = [n for n in model.graph.node if n.op_type in ("MatMul", "Gemm")][-1]
    kernel = numpy_helper.to_array(weights[last.input[1]]).copy()
    kernel[:, 1:5] *= 1.3
    weights[last.input[1]].CopyFrom(numpy_helper.from_array(kernel, last.input[1]))
    onnx.save(model, out / "planted.onnx")
    return out / "synthecg__ecg_model.onnx", out / "planted.onnx"


def saturating_inputs(path: Path) -> Path:
    """The old default inputs, uniform in [-2, 2]: synthecg's softmax is then exactly 1/0."""
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.uniform(-2, 2, (2, 186, 1)).astype(np.float32))
    return path


def test_the_planted_logit_change_fails_verify_with_the_logits_named(planted, tmp_path) -> None:
    from click.testing import CliRunner

    from converter.cli import main

    _, wrong = planted
    for inputs in ([], ["--inputs", str(saturating_inputs(tmp_path / "in.npz"))]):
        result = CliRunner().invoke(main, ["verify", str(SYNTHECG), str(wrong), "--runtime",
                                           "ort-cpu", "--json", *inputs])
        assert result.exit_code == 1, result.output
        assert "dense_1 logits: max abs" in result.output
        if not inputs:
            # Localised to the layer it was planted in, not to an earlier layer whose large
            # values carry float32 error (nor by the output's name to another layer's scope).
            assert "first diverging layer: dense_1 (Dense)" in result.output
        else:  # saturated: only the logits show it, and the localisation says so
            assert "the logits of dense_1 differ" in result.output


def test_saturated_outputs_are_reported_and_the_logits_carry_the_check(planted, tmp_path):
    from converter import ConvertOptions, verify

    good, _ = planted
    options = ConvertOptions(runtimes=("ort-cpu",), inputs=saturating_inputs(tmp_path / "x.npz"))
    result = verify(SYNTHECG, [good], options)
    information = result.report["inputs"]["information"]["dense_1"]
    assert information["informative"] is False
    assert information["reason"].startswith("a saturated softmax")
    assert information["logits_informative"] is True
    assert result.passed and result.parity[0].outputs[0].logits is not None
    assert result.report["inputs"]["source"].startswith("--inputs")


def test_per_layer_parity_agrees_on_the_good_file_and_names_the_planted_layer(planted) -> None:
    from converter import ConvertOptions, verify

    good, wrong = planted
    options = ConvertOptions(runtimes=("ort-cpu",), per_layer=True, power="off")
    for path, first in ((good, None), (wrong, "dense_1")):
        result = verify(SYNTHECG, [path], options)
        layers = result.report["per_layer"][str(path.absolute())]["layers"]
        assert len(layers) >= 8, layers  # every weighted layer and most others found
        diverging = [x["layer"] for x in layers if not x["within"]]
        assert (diverging[0] if diverging else None) == first, layers
