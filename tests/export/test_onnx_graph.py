"""ONNX graph passes on graphs shaped like tf2onnx's Conv1D lowering (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from converter.export.onnx_graph import optimize

RNG = np.random.default_rng(0)


def const(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def axes(op: str, x: str, out: str, values: list[int], opset: int, tag: str,
         nodes: list, inits: list) -> None:
    """Append a Squeeze/Unsqueeze in the opset's form, with its initializer when needed."""
    if opset >= 13:
        name = f"axes_const__{tag}"
        nodes.append(helper.make_node(op, [x, name], [out]))
        inits.append(const(name, np.array(values)))
    else:
        nodes.append(helper.make_node(op, [x], [out], axes=values))


def tf2onnx_like(opset: int, counter: int = 0, seed: int = 0) -> onnx.ModelProto:
    """x (N, W, 3) -> stem 1x1 conv -> causal dilated conv (Pad) -> Relu -> (N, W, 4).

    The lowering tf2onnx writes: Unsqueeze/Transpose in, 4-D Conv, Squeeze, bias Add,
    a Pad for the causal conv, and a Transpose back; `counter` shifts the generated
    names the way tf2onnx's process-wide counter does.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    axes("Unsqueeze", "x", "x4", [1], opset, f"{counter + 1}", nodes, inits)
    nodes.append(helper.make_node("Transpose", ["x4"], ["x4t"], perm=[0, 3, 1, 2]))
    inits.append(const("stem_w", rng.standard_normal((4, 3, 1, 1)).astype(np.float32)))
    nodes.append(helper.make_node("Conv", ["x4t", "stem_w"], ["stem4"], kernel_shape=[1, 1],
                                  strides=[1, 1], dilations=[1, 1]))
    axes("Squeeze", "stem4", "stem3", [2], opset, f"{counter + 2}", nodes, inits)
    inits.append(const(f"const_fold_opt__{counter + 3}",
                       rng.standard_normal((1, 4, 1)).astype(np.float32)))
    nodes.append(helper.make_node("Add", ["stem3", f"const_fold_opt__{counter + 3}"], ["stem"]))
    pads = [0, 0, 4, 0, 0, 0]
    if opset >= 11:
        inits.append(const("pads", np.array(pads, np.int64)))
        nodes.append(helper.make_node("Pad", ["stem", "pads"], ["padded"]))
    else:
        nodes.append(helper.make_node("Pad", ["stem"], ["padded"], pads=pads))
    axes("Unsqueeze", "padded", "padded4", [2], opset, f"{counter + 4}", nodes, inits)
    inits.append(const("dil_w", rng.standard_normal((4, 4, 1, 3)).astype(np.float32)))
    nodes.append(helper.make_node("Conv", ["padded4", "dil_w"], ["dil4"], kernel_shape=[1, 3],
                                  strides=[1, 1], dilations=[1, 2]))
    axes("Squeeze", "dil4", "dil3", [2], opset, f"{counter + 5}", nodes, inits)
    inits.append(const("dil_b", rng.standard_normal((4, 1)).astype(np.float32)))
    nodes.append(helper.make_node("Add", ["dil3", "dil_b"], ["dil"]))
    nodes.append(helper.make_node("Relu", ["dil"], ["act"]))
    nodes.append(helper.make_node("Transpose", ["act"], ["y"], perm=[0, 2, 1]))
    graph = helper.make_graph(
        nodes, "tcn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "W", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "W", 4])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.mark.parametrize("opset", [10, 13, 17])
def test_conv1d_lowering_becomes_native_1d_convs_with_folded_pad_and_bias(opset) -> None:
    stock = tf2onnx_like(opset).SerializeToString()
    data, counts = optimize(stock, lowering="native")
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["Transpose", "Conv", "Conv", "Relu",
                                                     "Transpose"]
    stem, dilated = (n for n in model.graph.node if n.op_type == "Conv")
    attributes = {a.name: list(a.ints) for a in dilated.attribute}
    assert attributes["pads"] == [4, 0] and attributes["dilations"] == [2]
    assert attributes["kernel_shape"] == [3] and len(dilated.input) == 3
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert weights[dilated.input[1]].shape == (4, 4, 3)
    assert counts["native_1d"] == 2 and counts["fold_pad"] == 1 and counts["fold_bias"] == 2
    for length in (1, 9, 40):
        x = RNG.standard_normal((2, length, 3)).astype(np.float32)
        np.testing.assert_allclose(run(data, x), run(stock, x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("opset", [13, 17])
def test_for_onnxruntime_a_dynamic_length_conv_chain_runs_in_the_plane(opset) -> None:
    stock = tf2onnx_like(opset).SerializeToString()
    data, counts = optimize(stock)
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model)
    # one Reshape to (N, C, 1, L) after the input's Transpose, one back before the output's
    assert [n.op_type for n in model.graph.node] == ["Transpose", "Reshape", "Conv", "Conv",
                                                     "Relu", "Reshape", "Transpose"]
    assert counts["native_1d"] == 2 and counts["conv_layouts"] == 1
    dilated = [n for n in model.graph.node if n.op_type == "Conv"][1]
    attributes = {a.name: list(a.ints) for a in dilated.attribute}
    assert attributes["pads"] == [0, 4, 0, 0] and attributes["dilations"] == [1, 2]
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert weights[dilated.input[1]].shape == (4, 4, 1, 3)
    for length in (1, 9, 40):
        x = RNG.standard_normal((2, length, 3)).astype(np.float32)
        np.testing.assert_allclose(run(data, x), run(stock, x), rtol=1e-6, atol=1e-6)


def test_a_file_the_passes_wrote_is_not_rewritten() -> None:
    once, _ = optimize(tf2onnx_like(17).SerializeToString())
    again, counts = optimize(once)
    assert again == once and not any(counts.values())
    native, _ = optimize(tf2onnx_like(17).SerializeToString(), lowering="native")
    entries = {p.key: p.value for p in onnx.load_from_string(native).metadata_props}
    assert entries == {"converter.onnx_graph": "native"}


def test_bytes_depend_on_the_graph_not_on_generated_counters() -> None:
    one, _ = optimize(tf2onnx_like(17, counter=0).SerializeToString())
    other, _ = optimize(tf2onnx_like(17, counter=500).SerializeToString())
    assert tf2onnx_like(17, counter=0) != tf2onnx_like(17, counter=500)
    assert one == other
    assert optimize(one)[0] == one  # idempotent on its own output
    names = [i.name for i in onnx.load_from_string(one).graph.initializer]
    assert not any("__" in name for name in names)


def test_a_pad_with_a_nonzero_fill_is_kept() -> None:
    model = tf2onnx_like(17)
    model.graph.initializer.append(const("fill", np.array(1.0, np.float32)))
    pad = next(n for n in model.graph.node if n.op_type == "Pad")
    pad.input.append("fill")
    data, counts = optimize(model.SerializeToString())
    assert counts["fold_pad"] == 0
    assert "Pad" in [n.op_type for n in onnx.load_from_string(data).graph.node]
    x = RNG.standard_normal((1, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, x), run(model.SerializeToString(), x), atol=1e-6)


def test_per_channel_mul_and_add_become_one_batch_normalization() -> None:
    rng = np.random.default_rng(3)
    inits = [const("scale", rng.standard_normal((1, 4, 1)).astype(np.float32)),
             const("offset", rng.standard_normal((4, 1)).astype(np.float32))]
    # the pool needs channels-first; the Mul and Add after it stay there (as many Transposes
    # either way), where they make one BatchNormalization
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("MaxPool", ["t"], ["p"], kernel_shape=[2]),
             helper.make_node("Mul", ["p", "scale"], ["scaled"]),
             helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
             helper.make_node("Relu", ["shifted"], ["r"]),
             helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1])]
    graph = helper.make_graph(
        nodes, "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "W", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "V", 4])], inits)
    stock = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    data, counts = optimize(stock.SerializeToString())
    assert counts["affine_batchnorm"] == 1
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert ops == ["Transpose", "MaxPool", "BatchNormalization", "Relu", "Transpose"]
    x = rng.standard_normal((2, 9, 4)).astype(np.float32)
    np.testing.assert_array_equal(run(data, x), run(stock.SerializeToString(), x))


@pytest.mark.parametrize(("length", "pads", "expected_ops"), [
    (40, [20, 20], ["Reshape", "Conv", "Reshape"]),  # whole rows of 10: the conv pads
    (37, [20, 20], ["Pad", "Reshape", "Conv", "Reshape", "Slice"]),
    (60, [0, 0], ["Reshape", "Conv", "Reshape"]),
    (43, [5, 15], ["Pad", "Reshape", "Conv", "Reshape", "Slice"]),
])
def test_a_widely_dilated_conv_at_a_static_length_convolves_rows(length, pads,
                                                                 expected_ops) -> None:
    rng = np.random.default_rng(4)
    kernel = rng.standard_normal((3, 2, 5)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[5], dilations=[10],
                            pads=pads)
    graph = helper.make_graph(
        [node], "dilated", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                          [1, 2, length])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [const("w", kernel), const("b", bias)])
    stock = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    data, counts = optimize(stock.SerializeToString())
    assert counts["dilated_rows"] == 1
    assert [n.op_type for n in onnx.load_from_string(data).graph.node] == expected_ops
    x = rng.standard_normal((1, 2, length)).astype(np.float32)
    np.testing.assert_allclose(run(data, x), run(stock.SerializeToString(), x), atol=1e-5)


def test_a_narrow_or_dynamic_dilation_stays_a_native_conv() -> None:
    data, counts = optimize(tf2onnx_like(17).SerializeToString())  # dilation 2, length "W"
    assert counts["dilated_rows"] == 0


@pytest.mark.parametrize("opset", [13, 17])
def test_every_onnx_pass_follows_the_pass_contract_and_is_idempotent(opset) -> None:
    import onnx_ir as ir

    from converter.export.onnx_graph import CLEAN_UP, REWRITES

    proto = onnx.shape_inference.infer_shapes(tf2onnx_like(opset))
    model = ir.from_proto(proto)
    changed = []
    for step in (*REWRITES, *CLEAN_UP):  # in the plan's order, each on its own output
        first = step(model)
        assert first.graph is model and first.modified is (first.size > 0)
        assert len(first.changes) == (1 if first.modified else 0)
        again = step(ir.from_proto(onnx.shape_inference.infer_shapes(ir.to_proto(model))))
        assert again.modified is False, (step.name, again.changes)
        changed += [step.name] if first.modified else []
    assert {"native_1d", "fold_pad", "fold_bias"} <= set(changed)


def test_a_pad_before_a_same_padded_conv_folds_into_its_pads() -> None:
    # fuzz seed 184: ZeroPadding1D before a channels_first "same" Conv1D, which tf2onnx writes
    # with auto_pad SAME_UPPER; the Pad stayed because only explicit pads were folded
    from tests.export.onnx_models import float_model

    rng = np.random.default_rng(8)
    inits = {"pads": np.array([0, 0, 1, 0, 0, 2], np.int64),
             "w": rng.standard_normal((2, 3, 3)).astype(np.float32)}
    nodes = [helper.make_node("Pad", ["x", "pads"], ["padded"]),
             helper.make_node("Conv", ["padded", "w"], ["y"], auto_pad="SAME_UPPER")]
    stock = float_model(nodes, inits, {"x": ["N", 3, "W"]}, {"y": ["N", 2, "V"]})
    data, counts = optimize(stock.SerializeToString(), lowering="native")
    model = onnx.load_from_string(data)
    assert counts["fold_pad"] == 1 and [n.op_type for n in model.graph.node] == ["Conv"]
    attributes = {a.name: helper.get_attribute_value(a) for a in model.graph.node[0].attribute}
    assert attributes["pads"] == [2, 3] and attributes.get("auto_pad", b"NOTSET") == b"NOTSET"
    x = rng.standard_normal((2, 3, 11)).astype(np.float32)
    np.testing.assert_allclose(run(data, x), run(stock.SerializeToString(), x), rtol=1e-5)
