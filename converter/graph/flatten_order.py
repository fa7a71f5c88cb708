"""The one piece of layout arithmetic both the graph passes and the ONNX passes need.

Flattening a (A, B) feature map gives rows in (A, B) order; flattening its transpose gives
(B, A) order. A Dense/MatMul kernel written for one order serves the other once its rows
are permuted the same way.
"""

from __future__ import annotations

import numpy as np


def reorder_rows(kernel: np.ndarray, leading: int) -> np.ndarray:
    """A (rows, units) kernel over an (leading, rows / leading) flatten, for the transpose's."""
    rows, units = kernel.shape
    trailing = rows // leading
    return kernel.reshape(leading, trailing, units).transpose(1, 0, 2).reshape(rows, units)
