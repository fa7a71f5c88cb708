"""Layout assignment: the fewest Transposes on any topology (no TensorFlow).

Hand-written graphs pin exact op sequences; seeded random graphs (random_graphs.py) check
that every pass keeps the numbers, that what is left cannot be improved (the passes find
nothing to do on their own output), and that the cut finds the optimum an exhaustive search
finds.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import onnx_ir as ir
import onnx_ir.passes.common as common_passes
import onnxruntime as ort
import pytest
from onnx import helper

from converter.export.onnx_graph import WRITTEN_BY, lowerings, optimize
from converter.export.onnx_graph.layout_assign import cost, label_of, optimise, relative
from converter.export.onnx_graph.layout_frames import build, tensors
from converter.export.onnx_graph.layout_ops import allowed, movable
from tests.export.onnx_models import float_model
from tests.export.random_graphs import random_graph

SEEDS = range(60)


def ops(data: bytes) -> list[str]:
    return [n.op_type for n in onnx.load_from_string(data).graph.node]


def live_ops(data: bytes) -> list[str]:
    """The ops that compute an output (a random graph leaves some branches unread)."""
    model = ir.from_proto(onnx.load_from_string(data))
    common_passes.RemoveUnusedNodesPass()(model)
    return [n.op_type for n in model.graph]


def run(data: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def interior_transposes(data: bytes) -> int:
    graph = onnx.load_from_string(data).graph
    inputs, outputs = {i.name for i in graph.input}, {o.name for o in graph.output}
    return sum(1 for n in graph.node if n.op_type == "Transpose"
               and n.input[0] not in inputs and n.output[0] not in outputs)


def tcn(width: int | str = "W") -> onnx.ModelProto:
    """The issue's TCN as tf2onnx writes it: a 1x1 projection read by a residual Add and the
    next conv, four causal dilated convs, each Relu'd and added to its block's input, every
    conv between Transposes; a global max pool and a Dense.
    """
    rng = np.random.default_rng(5)
    nodes: list[onnx.NodeProto] = []
    inits: dict[str, np.ndarray] = {}

    def conv(source: str, out: str, size: int, dilation: int, channels: int) -> None:
        inits[f"{out}_w"] = rng.standard_normal((8, channels, size)).astype(np.float32)
        nodes.append(helper.make_node("Transpose", [source], [f"{out}_in"], perm=[0, 2, 1]))
        nodes.append(helper.make_node("Conv", [f"{out}_in", f"{out}_w"], [f"{out}_c"],
                                      kernel_shape=[size], dilations=[dilation],
                                      pads=[(size - 1) * dilation, 0]))
        nodes.append(helper.make_node("Transpose", [f"{out}_c"], [out], perm=[0, 2, 1]))

    conv("x", "proj", 1, 1, 3)
    block = "proj"
    for d in (1, 2, 4, 8):
        conv(block, f"c{d}", 3, d, 8)
        nodes.append(helper.make_node("Relu", [f"c{d}"], [f"r{d}"]))
        nodes.append(helper.make_node("Add", [block, f"r{d}"], [f"add{d}"]))
        block = f"add{d}"
    nodes.append(helper.make_node("ReduceMax", [block], ["pooled"], axes=[1], keepdims=0))
    inits["dense"] = rng.standard_normal((8, 4)).astype(np.float32)
    nodes.append(helper.make_node("MatMul", ["pooled", "dense"], ["y"]))
    return float_model(nodes, inits, {"x": ["N", width, 3]}, {"y": ["N", 4]})


def test_a_residual_tcn_keeps_one_transpose_at_its_input() -> None:
    stock = tcn().SerializeToString()
    data, counts = optimize(stock, lowering="native")
    assert ops(stock).count("Transpose") == 10
    assert ops(data) == ["Transpose", "Conv", *["Conv", "Relu", "Add"] * 4, "ReduceMax", "MatMul"]
    assert counts["layout_assign"] == 9
    x = np.random.default_rng(1).standard_normal((2, 50, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, {"x": x})[0], run(stock, {"x": x})[0], rtol=1e-5)
    assert lowerings(counts, data) == ()  # nothing kept inside, nothing to explain


def test_for_onnxruntime_the_tcn_runs_in_the_plane_whatever_reads_its_end() -> None:
    # the global max pool mixes positions: the rows layout is out, the plane is not
    stock = tcn().SerializeToString()
    data, counts = optimize(stock)
    assert counts["conv_layouts"] == 4  # the dilated ones; the 1x1 follows their layout
    assert ops(data) == ["Transpose", "Reshape", "Conv", *["Conv", "Relu", "Add"] * 4,
                         "Reshape", "ReduceMax", "MatMul"]
    assert any("run as Conv2Ds" in line for line in lowerings(counts, data))
    x = np.random.default_rng(2).standard_normal((1, 77, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, {"x": x})[0], run(stock, {"x": x})[0], rtol=1e-5)


def test_a_tensor_two_layouts_read_is_transposed_once_and_the_place_is_named() -> None:
    # a conv's output read by a Reshape that regroups channels-last values and a second conv
    rng = np.random.default_rng(3)
    inits = {"w1": rng.standard_normal((4, 3, 3)).astype(np.float32),
             "w2": rng.standard_normal((4, 4, 3)).astype(np.float32),
             "regroup": np.array([0, -1, 2])}
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t", "w1"], ["c1"], pads=[1, 1]),
             helper.make_node("Transpose", ["c1"], ["h"], perm=[0, 2, 1]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Reshape", ["r", "regroup"], ["steps"]),
             helper.make_node("Transpose", ["r"], ["t2"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t2", "w2"], ["c2"], pads=[1, 1]),
             helper.make_node("Transpose", ["c2"], ["y"], perm=[0, 2, 1])]
    stock = float_model(nodes, inits, {"x": ["N", "W", 3]}, {"steps": None, "y": None})
    data, counts = optimize(stock.SerializeToString(), lowering="native")
    assert ops(data) == ["Transpose", "Conv", "Relu", "Conv", "Transpose", "Reshape",
                         "Transpose"]
    assert [o.name for o in onnx.load_from_string(data).graph.output] == ["steps", "y"]
    assert lowerings(counts, data) == (
        "1 Transpose(s) kept between Relu and Reshape: the one writes an axis order the other "
        "cannot read, and neither can compute in the other's",)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_random_graphs_keep_their_numbers_and_leave_nothing_to_improve(seed: int) -> None:
    model, length = random_graph(seed)
    stock = model.SerializeToString()
    rng = np.random.default_rng(seed)
    feeds = {"x": rng.standard_normal(
        (2, length or int(rng.integers(12, 30)), model.graph.input[0].type.tensor_type.shape.dim[2]
         .dim_value)).astype(np.float32)}
    expected = run(stock, feeds)
    for lowering in ("native", "onnxruntime"):
        data, counts = optimize(stock, lowering)
        for got, want in zip(run(data, feeds), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4,
                                       err_msg=f"seed {seed}, {lowering}")
        # one op per convolution (a per-step MatMul may run channels-first as a 1x1 Conv)
        before, after = live_ops(stock), ops(data)
        assert after.count("Conv") + after.count("MatMul") == before.count("Conv") + (
            before.count("MatMul"))
        assert after.count("Conv") >= before.count("Conv")
        assert interior_transposes(data) <= interior_transposes(stock)
    native, _ = optimize(stock, "native")
    again = onnx.load_from_string(native)
    del again.metadata_props[:]  # the passes over their own output: nothing left to do
    _, recount = optimize(again.SerializeToString(), "native")
    assert {name: n for name, n in recount.items() if n and name != "stable_names"} == {}
    assert not {"Pad", "Squeeze", "Unsqueeze", "Shape"} & set(ops(native)) - set(ops(stock))
    assert any(p.key == WRITTEN_BY for p in onnx.load_from_string(native).metadata_props)


def test_the_cut_finds_what_an_exhaustive_search_finds() -> None:
    compared = []
    for seed in range(80):
        model, _ = random_graph(seed)
        graph = ir.from_proto(onnx.shape_inference.infer_shapes(model)).graph
        frames, components = build(graph, 17)
        for component in components.values():
            parts = list(tensors(component))
            current = {op: label_of(frames, op) for op in component.ops}
            labels = sorted(set(current.values()) | {frames.find(v)[1] for v in component.values})
            if len(component.ops) > 12 or len(labels) > 2:
                continue
            assert all(movable(op, 17) for op in component.ops)
            choices = [dict(zip(component.ops, choice, strict=True))
                       for choice in itertools.product(labels, repeat=len(component.ops))]
            best = min(cost(frames, parts, c) for c in choices if all(
                allowed(op, relative(current[op], label), 17) for op, label in c.items()))
            found = optimise(frames, parts, current, 17)
            assert cost(frames, parts, found) == best, seed
            compared.append(len(component.ops))
    assert sum(1 for size in compared if size >= 3) >= 20, compared


def test_a_constant_part_of_a_concat_is_laid_out_with_it() -> None:
    # x -> T -> Conv -> T -> Concat(channels, with a constant (1, 5, 2) block) -> T -> Conv
    rng = np.random.default_rng(4)
    inits = {"w1": rng.standard_normal((4, 3, 1)).astype(np.float32),
             "block": rng.standard_normal((1, 5, 2)).astype(np.float32),
             "w2": rng.standard_normal((2, 6, 1)).astype(np.float32)}
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t", "w1"], ["c1"]),
             helper.make_node("Transpose", ["c1"], ["h"], perm=[0, 2, 1]),
             helper.make_node("Concat", ["h", "block"], ["joined"], axis=2),
             helper.make_node("Transpose", ["joined"], ["t2"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t2", "w2"], ["c2"]),
             helper.make_node("Transpose", ["c2"], ["y"], perm=[0, 2, 1])]
    stock = float_model(nodes, inits, {"x": ["N", 5, 3]}, {"y": ["N", 5, 2]})
    data, _ = optimize(stock.SerializeToString(), lowering="native")
    assert ops(data) == ["Transpose", "Conv", "Concat", "Conv", "Transpose"]
    x = rng.standard_normal((1, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, {"x": x})[0],
                               run(stock.SerializeToString(), {"x": x})[0], rtol=1e-5)


def test_a_shared_layout_node_whose_chains_stay_is_left_shared() -> None:
    # fuzz seed 120: an UpSampling1D's Reshape read by a Permute's Reshape and by a conv's
    # Transpose; neither chain collapses, so the copy made to try them must go again (the
    # passes then change nothing on their own output)
    rng = np.random.default_rng(6)
    inits = {"flip": np.array([0, 1, -1], np.int64),
             "merge": np.array([-1, 9, 1], np.int64),
             "w": rng.standard_normal((2, 1, 3)).astype(np.float32)}
    nodes = [helper.make_node("Reshape", ["x", "merge"], ["r"]),
             helper.make_node("Reshape", ["r", "flip"], ["flipped"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t", "w"], ["c"], pads=[1, 1]),
             helper.make_node("Concat", ["c", "flipped"], ["y"], axis=1)]
    stock = float_model(nodes, inits, {"x": ["N", 3, 3]}, {"y": ["N", 3, 9]})
    data, counts = optimize(stock.SerializeToString(), lowering="native")
    again = onnx.load_from_string(data)
    del again.metadata_props[:]
    redone, recount = optimize(again.SerializeToString(), lowering="native")
    assert {name: n for name, n in recount.items() if n} == {}
    assert ops(redone) == ops(data)


def test_a_one_channel_scale_and_shift_stays_a_scalar_where_it_broadcasts() -> None:
    # fuzz seed 212: tf2onnx writes a BatchNormalization on a (N, 24, 1) input as a Mul and
    # an Add by (1, 1, 1) constants; affine_batchnorm took them for the scale of axis 1
    # (24 steps): an invalid BatchNormalization
    rng = np.random.default_rng(7)
    inits = {"scale": np.full((1, 1, 1), 1.7, np.float32),
             "shift": np.full((1, 1, 1), -0.3, np.float32),
             "w": rng.standard_normal((3, 1, 1)).astype(np.float32)}
    nodes = [helper.make_node("Mul", ["x", "scale"], ["scaled"]),
             helper.make_node("Add", ["scaled", "shift"], ["shifted"]),
             helper.make_node("Transpose", ["shifted"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t", "w"], ["c"]),
             helper.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 1])]
    stock = float_model(nodes, inits, {"x": ["N", 24, 1]}, {"y": ["N", 24, 3]})
    x = rng.standard_normal((2, 24, 1)).astype(np.float32)
    for lowering in ("native", "onnxruntime"):
        data, _ = optimize(stock.SerializeToString(), lowering=lowering)
        np.testing.assert_allclose(run(data, {"x": x})[0],
                                   run(stock.SerializeToString(), {"x": x})[0], rtol=1e-5)


def test_a_last_step_taken_channels_first_needs_no_transpose() -> None:
    # keras-tcn without return_sequences: the conv chain's (N, C, W) end is transposed to
    # (N, W, C), its last step sliced and squeezed for the Dense. Slice and Squeeze run on
    # the channels-first tensor instead (the squeezed axis moves, the kept ones keep order).
    rng = np.random.default_rng(4)
    inits = {"w": rng.standard_normal((4, 3, 3)).astype(np.float32),
             "dense": rng.standard_normal((4, 2)).astype(np.float32),
             "starts": np.array([-1]), "ends": np.array([2 ** 31 - 1]), "axes": np.array([1]),
             "squeezed": np.array([1])}
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["t", "w"], ["c"], pads=[2, 0]),
             helper.make_node("Transpose", ["c"], ["h"], perm=[0, 2, 1]),
             helper.make_node("Slice", ["h", "starts", "ends", "axes"], ["last"]),
             helper.make_node("Squeeze", ["last", "squeezed"], ["step"]),
             helper.make_node("MatMul", ["step", "dense"], ["y"])]
    stock = float_model(nodes, inits, {"x": ["N", "W", 3]}, {"y": ["N", 2]})
    data, counts = optimize(stock.SerializeToString(), lowering="native")
    assert ops(data) == ["Transpose", "Conv", "Slice", "Squeeze", "MatMul"]
    x = np.random.default_rng(5).standard_normal((2, 9, 3)).astype(np.float32)
    np.testing.assert_allclose(run(data, {"x": x})[0],
                               run(stock.SerializeToString(), {"x": x})[0], rtol=1e-5)
    assert lowerings(counts, data) == ()
