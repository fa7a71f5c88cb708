"""tf2onnx's run inside the ONNX export: its optimizers, their failures, its settings restored."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from converter.artifacts import InputSpec
from converter.export.onnx import CATCH_ERRORS, to_onnx

pytestmark = pytest.mark.tf

SPECS = (InputSpec("x", (None, 6, 3), "float32"),)


def conv_function() -> Any:
    """A Conv1D + ReLU + Transpose graph, enough for tf2onnx's optimizers to change."""
    import tensorflow as tf

    kernel = tf.Variable(np.random.default_rng(0).normal(size=(3, 3, 4)).astype(np.float32))

    @tf.function
    def call(x: Any) -> Any:
        return tf.transpose(tf.nn.relu(tf.nn.conv1d(x, kernel, 1, "SAME")), (0, 2, 1))

    return call


def ops_and_outputs(data: bytes) -> tuple[list[str], np.ndarray]:
    import onnx
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)
    ops = [node.op_type for node in onnx.load_from_string(data).graph.node]
    return ops, session.run(None, {session.get_inputs()[0].name: x})[0]


def test_an_optimizer_that_raises_is_skipped_as_a_stock_conversion_skips_it(monkeypatch) -> None:
    # converter runs tf2onnx without its safety copies; where an optimizer raises, it converts
    # again with them, so the file is the stock one without that optimizer's work.
    from tf2onnx import optimizer

    calls = []

    class Broken:
        graph_been_opt = False

        def optimize(self, graph: Any, iteration: int) -> Any:
            calls.append(os.environ.get(CATCH_ERRORS))
            raise RuntimeError("planted optimizer failure")

    good_ops, good = ops_and_outputs(to_onnx(conv_function(), SPECS, 17))
    monkeypatch.setitem(optimizer._optimizers, "broken", Broken)
    ops, got = ops_and_outputs(to_onnx(conv_function(), SPECS, 17))
    assert calls[0] == "FALSE" and set(calls[1:]) == {None}, calls  # fast try, then the copies
    assert ops == good_ops and float(np.abs(got - good).max()) == 0.0
    assert "merge_duplication" in optimizer._optimizers and CATCH_ERRORS not in os.environ


def test_the_users_own_setting_is_left_as_it_was(monkeypatch) -> None:
    monkeypatch.setenv(CATCH_ERRORS, "TRUE")
    ops, _ = ops_and_outputs(to_onnx(conv_function(), SPECS, 17))
    assert "Conv" in ops and os.environ[CATCH_ERRORS] == "TRUE"
