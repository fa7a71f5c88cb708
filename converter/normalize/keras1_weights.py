"""Keras 1 weight layouts -> the layouts Keras 2 and 3 use (helpers of `keras1_layers`).

The rules are the ones Keras 2.0-2.2 applied when loading Keras 1 files
(`engine/saving.py: preprocess_weights_for_loading`), restated from their meaning:
- Convolution1D kernels were stored 4-D, `(k, 1, in, out)`, or in the older
  `(out, in, k, 1)` layout; Keras 2+ wants `(k, in, out)`.
- LSTM and GRU stored one kernel, recurrent kernel and bias per gate; Keras 2+ fuses them
  along the last axis in gate order i, f, c, o (LSTM) and z, r, h (GRU).
- Bidirectional stored the forward layer's weights, then the backward layer's.
Gate arrays are matched by their names (`lstm_1_W_i`, `forward_lstm_1_U_f:0`) when the file
has them, and by the Keras 1 storage order (i, c, f, o / z, r, h) otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from converter.errors import LoadError

GATES = {"LSTM": "ifco", "GRU": "zrh"}
STORED_ORDER = {"LSTM": "icfo", "GRU": "zrh"}
GATE_NAME = re.compile(r"(?:^|_)([WUb])_([a-z])(?::\d+)?$")


def conv1d_kernel(kernel: np.ndarray, filters: int, kernel_size: int, owner: str) -> np.ndarray:
    """A Keras 1 Convolution1D kernel as `(k, in, out)`."""
    if kernel.ndim == 3:
        return kernel
    if kernel.ndim != 4:
        raise LoadError(f"layer {owner}: a Convolution1D kernel of shape {kernel.shape}")
    if kernel.shape[:2] == (kernel_size, 1) and kernel.shape[3] == filters:
        return kernel[:, 0, :, :]
    if kernel.shape[0] == filters and kernel.shape[2:] == (kernel_size, 1):
        return np.transpose(kernel, (2, 3, 1, 0))[:, 0, :, :]
    raise LoadError(
        f"layer {owner}: kernel shape {kernel.shape} is neither Keras 1 layout "
        f"(k, 1, in, out) nor (out, in, k, 1) for {filters} filters of length {kernel_size}"
    )


def fuse_gates(
    class_name: str, weights: Sequence[np.ndarray], names: Sequence[str], owner: str
) -> tuple[np.ndarray, ...]:
    """Per-gate LSTM/GRU arrays fused into (kernel, recurrent_kernel, bias)."""
    gates = GATES[class_name]
    if len(weights) != 3 * len(gates):
        return tuple(weights)
    by_name: dict[tuple[str, str], np.ndarray] = {}
    for name, array in zip(names, weights, strict=False):
        match = GATE_NAME.search(name)
        if match:
            by_name[(match.group(1), match.group(2))] = array
    if len(by_name) != len(weights):
        stored = STORED_ORDER[class_name]
        by_name = {
            (kind, gate): weights[3 * index + position]
            for index, gate in enumerate(stored)
            for position, kind in enumerate("WUb")
        }
    missing = [f"{kind}_{gate}" for gate in gates for kind in "WUb" if (kind, gate) not in by_name]
    if missing:
        raise LoadError(f"layer {owner}: {class_name} gate weights {missing} are missing")
    return tuple(
        np.concatenate([by_name[(kind, gate)] for gate in gates], axis=-1) for kind in "WUb"
    )


def split_halves(
    weights: Sequence[np.ndarray], names: Sequence[str]
) -> tuple[tuple[list[np.ndarray], list[str]], tuple[list[np.ndarray], list[str]]]:
    """A Bidirectional's weights as (forward, backward) halves, names alongside."""
    half = len(weights) // 2
    padded = list(names) + [""] * (len(weights) - len(names))
    return (list(weights[:half]), padded[:half]), (list(weights[half:]), padded[half:])
