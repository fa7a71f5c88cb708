"""Whether reference outputs carry information: a check on uninformative outputs proves nothing.

A softmax that puts all its mass on one class, a sigmoid pinned at 0 or 1, an output that is
the same for every input, one predicted class for every row, or NaN/inf: a converted file
could compute something else and still match. Each is named, so a check on such outputs is
`inconclusive` rather than `passed` (unless its logits carry the information instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A softmax row whose other classes hold less than this in all is saturated, a sigmoid
# within it of 0 or 1 too: a float32 tolerance of 1e-5 cannot see their logits move.
SATURATED = 1e-5
# Spread below this (relative to the values' magnitude) is "the same for every input".
CONSTANT = 1e-7


@dataclass(frozen=True)
class Information:
    """What one output's reference values say: informative or not, and why not."""

    informative: bool
    reason: str = ""
    rows: int = 0
    saturated_rows: int = 0
    classes: int | None = None


def rows_of(values: Sequence[np.ndarray]) -> np.ndarray:
    """Every case's output as rows (batch rows, and positions of per-step outputs)."""
    arrays = [np.asarray(v, np.float64) for v in values]
    if not arrays or arrays[0].ndim == 0:
        return np.zeros((0, 1))
    # cases whose last axis differs (it follows a dynamic length) are compared value by value
    width = arrays[0].shape[-1] if arrays[0].ndim > 1 and all(
        a.ndim > 1 and a.shape[-1] == arrays[0].shape[-1] for a in arrays) else 1
    return np.concatenate([a.reshape(-1, width) for a in arrays])


def assess(values: Sequence[np.ndarray], kind: str | None = None) -> Information:
    """Whether one output's reference values over every case carry information.

    `kind` is "softmax" or "sigmoid" when the output is one (graph.logits), else None.
    """
    rows = rows_of(values)
    if rows.size == 0:
        return Information(False, "the reference produced an empty output")
    if not np.isfinite(rows).all():
        return Information(False, f"{int((~np.isfinite(rows)).sum())} NaN/inf values in the "
                                  "reference output", len(rows))
    if kind == "softmax" and rows.shape[1] > 1:
        found = squashed(rows, 1.0 - rows.max(axis=1), rows.argmax(axis=1), "softmax")
    elif kind == "sigmoid":
        distance = np.minimum(rows, 1.0 - rows).max(axis=1)
        found = squashed(rows, distance, (rows > 0.5).astype(int)[:, 0], "sigmoid")
    else:
        found = Information(True, rows=len(rows))
    spread = float(np.ptp(rows, axis=0).max()) if len(rows) > 1 else 0.0
    if found.informative and len(rows) > 1 and spread <= CONSTANT * (
            1.0 + float(np.abs(rows).max())):
        return Information(False, f"the same value for all {len(rows)} input rows", len(rows))
    return found


def squashed(rows: np.ndarray, margin: np.ndarray, classes: np.ndarray,
             kind: str) -> Information:
    """Saturation and class spread of a softmax or sigmoid output's rows."""
    saturated = int((margin < SATURATED).sum())
    distinct = len(set(classes.tolist()))
    if saturated == len(rows):
        return Information(False, f"a saturated {kind}: every one of the {len(rows)} rows is "
                                  f"within {SATURATED:g} of 0 or 1", len(rows), saturated,
                           distinct)
    if distinct == 1 and len(rows) > 1:
        return Information(False, f"one predicted class ({int(classes[0])}) for every one of "
                                  f"the {len(rows)} rows", len(rows), saturated, distinct)
    return Information(True, rows=len(rows), saturated_rows=saturated, classes=distinct)


def row_informative(row: np.ndarray, kind: str | None) -> bool:
    """Whether one output row is away from saturation (the input search's criterion)."""
    if not np.isfinite(row).all():
        return False
    if kind == "softmax" and row.size > 1:
        return bool(1.0 - row.max() >= SATURATED)
    if kind == "sigmoid":
        return bool(np.minimum(row, 1.0 - row).max() >= SATURATED)
    return True
