"""Options validation and the error tree's exit codes (no TensorFlow)."""

from __future__ import annotations

import pytest

from converter.errors import (
    EXIT_MODEL_ERROR,
    EXIT_RUNTIME_UNAVAILABLE,
    EXIT_USAGE,
    LoadError,
    NormalizeError,
    RuntimeUnavailableError,
    UnsupportedLayersError,
    UsageError,
)
from converter.options import ConvertOptions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": ("tflite", "coreml")}, r"--to must name one or more of tflite, onnx; received"),
        ({"to": ()}, r"--to must name"),
        ({"precision": ("fp64",)},
         r"--precision must be one of fp32, fp16, int8-dynamic, int8; received \('fp64',\)"),
        ({"opset": 30}, r"--opset must be between 9 and 18 \(what tf2onnx 1.17 writes\); "
                        r"received 30"),
        ({"io_layout": "nchw"}, r"--io-layout must be one of source, channels_last"),
        ({"static_batch": 0}, r"--static-batch and --static-length must be positive"),
        ({"static_length": 1500, "dynamic_length": True},
         r"--static-batch and --static-length apply only with --static-shape"),
        ({"batch_size": 0}, r"batch size and lengths must be positive; received batch_size=0"),
        ({"lengths": (16, -1)}, r"lengths=\(16, -1\)"),
        ({"runtimes": ("keras",)}, r"at least one runtime besides the keras reference"),
        ({"timeout_s": 0}, r"--timeout must be positive; received 0"),
        ({"runtimes": ("keras", "tflite-gpu")},
         r"unknown runtime 'tflite-gpu'; choose from keras, keras-normalized, litert-gpu-fp16, "
         r"litert-gpu-fp32, numpy, onnx-reference, ort-cpu, ort-cpu-noopt, tflite-builtin, "
         r"tflite-reference, tflite-xnnpack"),
    ],
    ids=["bad-target", "no-target", "precision", "opset", "io-layout", "static",
         "static-without-shape", "batch", "lengths", "only-ref",
         "timeout", "unknown-runtime"],
)
def test_options_refuse_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ConvertOptions(**kwargs)


def test_default_options_are_valid() -> None:
    options = ConvertOptions()
    assert options.to == ("tflite", "onnx")
    assert options.runtimes == () and options.selected_runtimes()[0] == "keras"
    # The mobile GPU path is in the default matrix (skipped where no Vulkan driver is).
    assert options.selected_runtimes()[-2:] == ("litert-gpu-fp16", "litert-gpu-fp32")


def test_exit_codes_follow_design() -> None:
    assert UsageError("x").exit_code == EXIT_USAGE == 2
    assert LoadError("x").exit_code == EXIT_MODEL_ERROR == 3
    assert RuntimeUnavailableError("x").exit_code == EXIT_RUNTIME_UNAVAILABLE == 4


def test_unsupported_layers_lists_every_layer_and_remedy() -> None:
    error = UnsupportedLayersError([("a", "Lambda"), ("b", "class Foo")], "Do this.")
    assert str(error) == "unsupported layers: a (Lambda); b (class Foo). Do this."
    assert error.exit_code == 3


def test_normalize_error_names_pass_and_predecessors() -> None:
    error = NormalizeError("canonical_tuples", ["input_batch_shape"], "bad kernel")
    assert str(error) == (
        "pass canonical_tuples failed: bad kernel (passes already applied: input_batch_shape)"
    )
