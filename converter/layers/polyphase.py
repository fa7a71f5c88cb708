"""How a strided Conv1DTranspose becomes a plain conv whose output rows interleave.

At a static length `Conv1DTranspose`'s export form is this polyphase conv: one Conv1D with
stride x filters, the same multiply-adds, no output shape computed at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PolyphasePlan:
    """How a stride-s transposed conv becomes a conv with s phases per output row.

    Output position q*s + p of the transposed conv (after its own cropping) is phase p of
    row q of a plain convolution over the input padded by (left, right), whose tap t for
    phase p is the transposed kernel's tap index[t, p] (index == k: a zero tap).
    """

    index: np.ndarray
    stride: int
    left: int
    right: int
    rows: int
    length: int


def polyphase_plan(kernel: int, stride: int, padding: str, steps: int) -> PolyphasePlan:
    """The polyphase plan of a Keras Conv1DTranspose (dilation 1, no output_padding).

    Keras's lengths: "same" gives steps*stride, cropping max(k - s, 0) // 2 at the start of
    the full (steps - 1) * s + k result; "valid" gives steps*stride + max(k - s, 0), uncropped.
    """
    overhang = max(kernel - stride, 0)
    length, crop = (steps * stride, overhang // 2) if padding == "same" else (
        steps * stride + overhang, 0)
    reach = -(-kernel // stride)
    whole, phase_shift = divmod(crop, stride)
    # Phase p reads taps r*s + p + shift: r from -1 when p + shift can pass a stride.
    first = -1 if phase_shift else 0
    taps = reach - first
    rows = -(-length // stride)
    left = reach - 1 - whole
    index = np.full((taps, stride), kernel, np.int64)
    for t in range(taps):
        for p in range(stride):
            tap = (left + whole - t) * stride + p + phase_shift
            if 0 <= tap < kernel:
                index[t, p] = tap
    return PolyphasePlan(index, stride, left, rows - steps + taps - 1 - left, rows, length)
