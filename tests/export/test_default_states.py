"""default_states: an LSTM/GRU's zero initial state built at run time is left to the op's
default, and the chain that built it goes (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from converter.export.onnx_graph import optimize

HIDDEN = 5


def recurrent(op: str, state: str) -> onnx.ModelProto:
    """x (T, N, 3) -> bidirectional `op` with initial state `state` -> Y.

    "built": zeros of the run-time batch the way tf2onnx builds them (Shape ->
    ConstantOfShape -> Tile -> Unsqueeze -> Concat); "ones": a constant non-zero state.
    """
    rng = np.random.default_rng(0)
    gates = {"LSTM": 4, "GRU": 3}[op]
    inits = [numpy_helper.from_array(rng.normal(size=(2, gates * HIDDEN, k)).astype(np.float32),
                                     name) for name, k in (("W", 3), ("R", HIDDEN))]
    inits += [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
              (("start", [1]), ("end", [2]), ("axis", [0]), ("tiles", [1, HIDDEN]),
               ("zero_axis", [0]))]
    nodes = []
    if state == "built":
        nodes += [helper.make_node("Slice", ["x", "start", "end", "axis"], ["step"]),
                  helper.make_node("Shape", ["step"], ["shape"]),
                  helper.make_node("Gather", ["shape", "start"], ["batch"], axis=0),
                  helper.make_node("Concat", ["batch", "start"], ["dims"], axis=0),
                  helper.make_node("ConstantOfShape", ["dims"], ["zeros"]),
                  helper.make_node("Tile", ["zeros", "tiles"], ["tiled"]),
                  helper.make_node("Unsqueeze", ["tiled", "zero_axis"], ["one"]),
                  helper.make_node("Concat", ["one", "one"], ["h0"], axis=0)]
    else:
        inits.append(numpy_helper.from_array(np.ones((2, 1, HIDDEN), np.float32), "h0"))
    states = ["h0", "h0"] if op == "LSTM" else ["h0"]
    nodes.append(helper.make_node(op, ["x", "W", "R", "", "", *states], ["Y"],
                                  hidden_size=HIDDEN, direction="bidirectional"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["T", 1, 3])], [helper.make_tensor_value_info(
            "Y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_a_zero_state_built_at_run_time_is_left_to_the_default(op: str) -> None:
    model = recurrent(op, "built")
    data, counts = optimize(model.SerializeToString())
    nodes = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert nodes == [op] and counts["default_states"] == (2 if op == "LSTM" else 1)
    x = np.random.default_rng(1).normal(size=(6, 1, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, x), run(model.SerializeToString(), x), atol=1e-6)


def test_a_nonzero_state_stays() -> None:
    data, counts = optimize(recurrent("LSTM", "ones").SerializeToString())
    (node,) = onnx.load_from_string(data).graph.node
    assert counts["default_states"] == 0 and all(node.input[5:]) and len(node.input) == 7
