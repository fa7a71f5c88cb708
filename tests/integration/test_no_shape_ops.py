"""At a static length every size is known: no run-time shape ops in either file.

Keras's UpSampling1D repeats with the input's run-time shape; at length 64 that gave SHAPE,
STRIDED_SLICE and TILE in TFLite and Shape/Gather/Slice/Cast/Tile in ONNX.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.tf
TFLITE_SHAPE_OPS = {"SHAPE", "TILE", "GATHER", "PACK", "BROADCAST_TO", "FILL"}
ONNX_SHAPE_OPS = {"Shape", "Gather", "Tile", "Cast", "ConstantOfShape", "Expand", "Range"}


@pytest.mark.parametrize("size", [2, 3])
def test_upsampling_pads_crops_and_flatten_at_a_static_length(tmp_path: Path, size: int) -> None:
    import keras

    from converter import ConvertOptions, convert

    x = keras.Input((64, 3), name="x")
    h = keras.layers.Conv1D(4, 3, padding="same", name="c1")(x)
    h = keras.layers.UpSampling1D(size, name="up")(h)
    h = keras.layers.ZeroPadding1D((1, 2), name="pad")(h)
    h = keras.layers.Cropping1D((2, 1), name="crop")(h)
    h = keras.layers.Conv1D(2, 3, name="c2")(h)
    h = keras.layers.Reshape((-1, 4), name="r")(h)
    y = keras.layers.Dense(3, name="out")(keras.layers.Flatten(name="f")(h))
    keras.Model(x, y).save(tmp_path / "up.keras")
    result = convert(tmp_path / "up.keras", ConvertOptions(
        output_dir=tmp_path / "out", runtimes=("tflite-xnnpack", "ort-cpu"), power="off"))
    assert result.passed, [(c.runtime, c.reason) for c in result.parity]
    counts = {a.format: dict(a.op_counts) for a in result.artifacts}
    assert not TFLITE_SHAPE_OPS & set(counts["tflite"]), counts["tflite"]
    assert not ONNX_SHAPE_OPS & set(counts["onnx"]), counts["onnx"]
    assert counts["tflite"]["CONV_2D"] == 2 and counts["onnx"]["Conv"] == 2
