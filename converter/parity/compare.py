"""Compare one output of one runtime with the reference, returning evidence, not a bool."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from converter.artifacts import OutputComparison, Tolerance

TINY = 1e-30


def compare_output(
    name: str,
    actual: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    tolerance: Tolerance,
) -> OutputComparison:
    """Compare one output over every input case.

    Passes when every element meets |a - e| <= atol + rtol * |e|. NaN or inf anywhere in
    either side fails: a NaN that "matches" a NaN still means the model is broken.
    """
    shapes = [(tuple(a.shape), tuple(e.shape)) for a, e in zip(actual, expected, strict=True)]
    if any(sa != se for sa, se in shapes):
        bad = next(pair for pair in shapes if pair[0] != pair[1])
        return failed_shape(name, bad[0], bad[1])
    a = np.concatenate([np.asarray(x, np.float64).ravel() for x in actual])
    e = np.concatenate([np.asarray(x, np.float64).ravel() for x in expected])
    shape = shapes[0][1] if shapes else ()
    if not (np.isfinite(a).all() and np.isfinite(e).all()):
        note = f"non-finite values: {int((~np.isfinite(a)).sum())} in output, " \
               f"{int((~np.isfinite(e)).sum())} in reference"
        nan = float("nan")
        return OutputComparison(name, shape, nan, nan, nan, nan, nan, nan, None, False, note)
    diff = np.abs(a - e)
    magnitude = np.abs(e)
    atol = tolerance.atol * (float(magnitude.max(initial=0.0)) if tolerance.scaled else 1.0)
    max_abs = float(diff.max(initial=0.0))
    rel = diff / np.maximum(magnitude, TINY)
    max_rel = float(rel.max(initial=0.0))
    norm = float(np.linalg.norm(a) * np.linalg.norm(e))
    cosine = float(np.dot(a, e) / norm) if norm > 0 else float(max_abs == 0.0)
    # Smallest rtol that passes with the configured atol (inf when atol alone cannot).
    excess = diff - atol
    need_rtol = excess[excess > 0] / np.maximum(magnitude[excess > 0], TINY)
    required_rtol = float(need_rtol.max(initial=0.0))
    passed = bool(np.all(diff <= atol + tolerance.rtol * magnitude))
    return OutputComparison(
        name, shape, max_abs, max_rel, float(diff.mean()) if diff.size else 0.0, cosine,
        max_abs, required_rtol, top1_agreement(actual, expected), passed,
    )


def top1_agreement(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> float | None:
    """Share of rows whose arg-max class agrees, for (batch, classes) outputs; else None."""
    if not expected or any(x.ndim != 2 or x.shape[-1] < 2 for x in expected):
        return None
    agree = [np.argmax(a, -1) == np.argmax(e, -1) for a, e in zip(actual, expected, strict=True)]
    return float(np.concatenate(agree).mean())


def failed_shape(name: str, got: tuple[int, ...], want: tuple[int, ...]) -> OutputComparison:
    """The evidence for an output whose shape differs from the reference's."""
    nan = float("nan")
    return OutputComparison(
        name, got, nan, nan, nan, nan, nan, nan, None, False,
        f"shape {list(got)} differs from the reference's {list(want)}",
    )
