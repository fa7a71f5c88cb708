"""The polyphase plan of Conv1DTranspose, against the NumPy reference's transposed conv."""

from __future__ import annotations

import numpy as np
import pytest

from converter.layers.polyphase import polyphase_plan
from converter.layers.convolution import conv1d_transpose


def polyphase(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int,
              padding: str) -> np.ndarray:
    """The plan carried out in NumPy: pad, one plain conv, rows interleaved, cropped."""
    plan = polyphase_plan(kernel.shape[0], stride, padding, x.shape[1])
    padded_kernel = np.concatenate([kernel, np.zeros((1, *kernel.shape[1:]))], 0)
    taps = padded_kernel[plan.index]  # (T, stride, out, in)
    xp = np.pad(x, [(0, 0), (plan.left, plan.right), (0, 0)])
    count = plan.index.shape[0]
    rows = np.stack([
        np.einsum("btc,tpoc->bpo", xp[:, q:q + count], taps)
        for q in range(xp.shape[1] - count + 1)
    ], 1)  # (batch, rows, stride, out)
    assert rows.shape[1] == plan.rows
    flat = rows.reshape(x.shape[0], plan.rows * stride, kernel.shape[1])
    return flat[:, :plan.length] + bias


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 7])
def test_polyphase_plan_equals_the_transposed_convolution(kernel_size, stride, padding) -> None:
    rng = np.random.default_rng([kernel_size, stride])
    x = rng.standard_normal((2, 6, 3))
    kernel = rng.standard_normal((kernel_size, 4, 3))
    bias = rng.standard_normal(4)
    config = {"strides": (stride,), "padding": padding, "dilation_rate": (1,),
              "use_bias": True, "activation": "linear", "output_padding": None}
    expected = conv1d_transpose(config, [kernel, bias], [x])
    got = polyphase(x, kernel, bias, stride, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_same_padding_needs_no_crop_and_a_zero_phase_shift_needs_no_extra_tap() -> None:
    plan = polyphase_plan(3, 2, "same", 16)  # the autoencoder's `up` layer
    assert (plan.rows, plan.length, plan.left, plan.right) == (16, 32, 1, 0)
    assert plan.index.tolist() == [[2, 3], [0, 1]]  # tap 3 == k: a zero tap
