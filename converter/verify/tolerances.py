"""Every parity tolerance, keyed by (runtime, precision), each with the measurement behind it.

Nothing else in converter may invent a tolerance: a check asks `tolerance_for` and the
report prints the number and its justification next to the verdict.
"""

from __future__ import annotations

from converter.artifacts import Tolerance
from converter.errors import UsageError

# Measured on the sample models (tests/integration/test_convert_samples.py asserts every
# figure stays <= 1e-5), on 2 AMD EPYC cores, TF 2.21 / LiteRT 2.3 / onnxruntime 1.32, inputs
# uniform in [-2, 2]: the largest fp32 error against Keras was 9.5e-7 absolute (tcn and
# kernel_forms on onnxruntime; XNNPACK at most 3.6e-7). 1e-4 absolute plus 1e-4 relative
# leaves two orders of margin for other models while a weight off by 1e-3 still fails.
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("tflite-xnnpack", "fp32"): Tolerance(
        1e-4, 1e-4, "XNNPACK fp32 reorders sums; measured max abs <= 3.6e-7 on the samples"
    ),
    ("ort-cpu", "fp32"): Tolerance(
        1e-4, 1e-4, "onnxruntime MLAS fp32; measured max abs <= 9.5e-7 on the samples"
    ),
    # The NumPy reference computes in float64; against Keras' float32 the samples differ by
    # at most a few 1e-6 (tests/reference assert <= 1e-5), so the fp32 bound applies.
    ("numpy", "fp64"): Tolerance(
        1e-4, 1e-4, "float64 NumPy interpreter vs float32 Keras; measured <= 1e-5 on the samples"
    ),
}


def tolerance_for(runtime: str, precision: str) -> Tolerance:
    """The tolerance of a runtime at a precision; an unknown pair lists the known ones."""
    try:
        return TOLERANCES[(runtime, precision)]
    except KeyError:
        known = ", ".join(f"{r}/{p}" for r, p in TOLERANCES)
        raise UsageError(f"no tolerance for {runtime}/{precision}; known: {known}") from None
