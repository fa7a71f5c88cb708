"""Every parity tolerance, keyed by (runtime, precision), each with the measurement behind it.

Nothing else in converter may invent a tolerance: a check asks `tolerance_for` and the
report prints the number and its justification next to the verdict.
"""

from __future__ import annotations

from converter.artifacts import Tolerance
from converter.errors import UsageError

# Measured on the sample models (tests/integration/test_convert_samples.py asserts every
# figure stays <= 1e-5), on 2 AMD EPYC cores, TF 2.21 / LiteRT 2.3 / onnxruntime 1.32, inputs
# uniform in [-2, 2]: the largest fp32 error against Keras was 1.9e-6 absolute (tcn on the
# builtin LiteRT kernels), and on the real-model corpus 6.7e-6 on outputs of magnitude ~10
# (Kipoi CODA). 1e-5 absolute plus 1e-5 relative (Polygraphy's default) keeps a margin of 5
# while a planted defect as small as one output channel of one mid-network conv scaled by
# 1.01 (5.7e-5 at ecg_classifier's softmax) still fails: at 1e-4 it passed unseen.
# (runtime, precision, atol, rtol, the measurement behind it); the GPU rows were measured on
# Mesa lavapipe (llvmpipe over Vulkan) through LiteRT's WebGPU backend. fp16 storage and
# arithmetic cost ~1e-3 relative per layer, compounding with depth.
TABLE: tuple[tuple[str, str, float, float, str], ...] = (
    ("tflite-xnnpack", "fp32", 1e-5, 1e-5, "XNNPACK reorders sums; max abs <= 3.6e-7"),
    ("tflite-builtin", "fp32", 1e-5, 1e-5, "LiteRT builtin kernels; max abs <= 1.9e-6 (tcn)"),
    ("tflite-reference", "fp32", 1e-5, 1e-5, "LiteRT reference kernels; max abs <= 9.5e-7"),
    ("ort-cpu", "fp32", 1e-5, 1e-5, "onnxruntime MLAS fp32; max abs <= 9.5e-7"),
    ("ort-cpu-noopt", "fp32", 1e-5, 1e-5, "onnxruntime without fusions; max abs <= 1.7e-6"),
    ("onnx-reference", "fp32", 1e-5, 1e-5, "ONNX ReferenceEvaluator; max abs <= 1.4e-6"),
    ("numpy", "graph", 1e-5, 1e-5, "float64 interpreter vs float32 Keras; max abs <= 9.5e-7"),
    ("keras-normalized", "graph", 1e-5, 1e-5, "rebuilt Keras 3 model; max abs 0.0"),
    ("litert-gpu-fp32", "fp32", 1e-5, 1e-5, "GPU accelerator, enforce_f32; max abs <= 2.4e-7"),
    ("litert-gpu-fp16", "fp32", 1e-2, 1e-2, "GPU accelerator at fp16; max abs 3.3e-3, max rel "
     "4.8e-3 (text_conv1d), ~1e-3 relative typical"),
)
# Quantised TFLite files, on every LiteRT interpreter: atol is a fraction of the output's
# largest reference magnitude (Tolerance.scaled), rtol 0. Measured as max |err| / max |ref|
# over the 7 CPU-convertible samples (seed 0, batch 2, inputs uniform in [-2, 2]); full int8
# calibrated on the parity inputs themselves.
QUANTISED: tuple[tuple[str, float, str], ...] = (
    ("fp16", 5e-3, "fp16 weights: worst 3.9e-4 of the output range (tcn)"),
    ("int8-dynamic", 1e-2, "int8 weights, dynamic activations: worst 2.0e-3 (ecg_classifier)"),
    ("int8", 1e-1, "int8 weights and activations: worst 5.0e-2 (kim_cnn softmax), 2.7e-2 "
     "(tcn)"),
)
TFLITE_RUNTIMES = ("tflite-xnnpack", "tflite-builtin", "tflite-reference", "litert-gpu-fp32",
                   "litert-gpu-fp16")
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    (runtime, precision): Tolerance(atol, rtol, f"{why} on the samples")
    for runtime, precision, atol, rtol, why in TABLE
} | {
    (runtime, precision): Tolerance(fraction, 0.0, f"{why} on the samples", scaled=True)
    for runtime in TFLITE_RUNTIMES for precision, fraction, why in QUANTISED
}


def tolerance_for(runtime: str, precision: str) -> Tolerance:
    """The tolerance of a runtime at a precision; an unknown pair lists the known ones."""
    try:
        return TOLERANCES[(runtime, precision)]
    except KeyError as exc:
        known = ", ".join(f"{r}/{p}" for r, p in TOLERANCES)
        raise UsageError(f"no tolerance for {runtime}/{precision}; known: {known}") from exc
