"""known_sizes: Reshape targets computed from known sizes become constants (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from converter.export.onnx_graph import optimize
from tests.export.onnx_models import float_model


def tensordot(width: int | str) -> onnx.ModelProto:
    """TensorFlow's Tensordot as tf2onnx writes a Dense on (N, W, 3): rows, MatMul, and a
    Reshape back to (N, W, 5) whose target is read from the input's shape at run time.
    """
    rng = np.random.default_rng(0)
    inits = {"rows": np.array([-1, 3], np.int64),
             "kernel": rng.standard_normal((3, 5)).astype(np.float32),
             "free": np.array([0, 1], np.int64), "units": np.array([5], np.int32),
             "bias": rng.standard_normal(5).astype(np.float32)}
    nodes = [helper.make_node("Reshape", ["x", "rows"], ["flat"]),
             helper.make_node("MatMul", ["flat", "kernel"], ["product"]),
             helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Cast", ["shape"], ["shape32"], to=TensorProto.INT32),
             helper.make_node("Gather", ["shape32", "free"], ["leading"], axis=0),
             helper.make_node("Concat", ["leading", "units"], ["target32"], axis=0),
             helper.make_node("Cast", ["target32"], ["target"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["product", "target"], ["dense"]),
             helper.make_node("Add", ["dense", "bias"], ["y"])]
    return float_model(nodes, inits, {"x": ["N", width, 3]}, {"y": ["N", width, 5]})


@pytest.mark.parametrize("width", ["W", 7], ids=["dynamic", "static"])
def test_a_tensordot_becomes_one_matmul_without_shape_ops(width: int | str) -> None:
    stock = tensordot(width).SerializeToString()
    data, counts = optimize(stock, lowering="native")
    assert counts["known_sizes"] == 1
    assert [n.op_type for n in onnx.load_from_string(data).graph.node] == ["MatMul", "Add"]
    x = np.random.default_rng(1).standard_normal((2, 7, 3)).astype(np.float32)
    want, got = (ort.InferenceSession(d).run(None, {"x": x})[0] for d in (stock, data))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_a_target_of_known_sizes_becomes_a_constant() -> None:
    # (N, 6, 4) -> (N, 12, 2): the target's N is read from the input itself at run time
    inits = {"batch": np.array([0], np.int64), "rest": np.array([12, 2], np.int64)}
    nodes = [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Gather", ["shape", "batch"], ["n"], axis=0),
             helper.make_node("Concat", ["n", "rest"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"])]
    stock = float_model(nodes, inits, {"x": ["N", 6, 4]}, {"y": ["N", 12, 2]})
    data, counts = optimize(stock.SerializeToString(), lowering="native")
    model = onnx.load_from_string(data)
    assert [n.op_type for n in model.graph.node] == ["Reshape"]
    target = next(i for i in model.graph.initializer if i.name == model.graph.node[0].input[1])
    assert numpy_helper.to_array(target).tolist() == [0, 12, 2]
