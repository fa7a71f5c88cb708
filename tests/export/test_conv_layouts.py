"""The dynamic-length rows layout (conv_layouts) on SpliceAI-shaped graphs (no TensorFlow)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from converter.export.onnx_graph import optimize

C = 32


def residual_tower(crop: int, kernel: int = 9, channels: int = C, opset: int = 17,
                   length: int | str = "W", dilations: tuple[int, int] = (4, 8)
                   ) -> onnx.ModelProto:
    """x (N, W, 4) -> 1x1 conv -> [BN, Relu, conv d=4] + residual -> BN, Relu, conv d=8 ->
    crop `crop` steps from each end -> 1x1 conv to 3 -> Softmax over channels -> (N, W', 3).

    Both dilated convs are "same" ones (pads written out, as fold_pad leaves them), so they
    read past the end: 4 * (kernel - 1) / 2 + 8 * (kernel - 1) / 2 = 48 steps for kernel 9.
    """
    rng = np.random.default_rng(7)
    inits = []

    def weight(name: str, shape: tuple[int, ...], scale: float = 0.1) -> str:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def batchnorm(x: str, out: str) -> onnx.NodeProto:
        names = [weight(f"{out}_{p}", (channels,)) for p in ("scale", "bias", "mean")]
        inits.append(numpy_helper.from_array(
            rng.uniform(0.5, 1.5, channels).astype(np.float32), f"{out}_var"))
        return helper.make_node("BatchNormalization", [x, *names, f"{out}_var"], [out])

    (first, second), half = dilations, (kernel - 1) // 2
    reach4, reach8 = first * half, second * half
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["t", weight("stem_w", (channels, 4, 1)),
                                  weight("stem_b", (channels,))], ["stem"], kernel_shape=[1]),
        batchnorm("stem", "bn1"),
        helper.make_node("Relu", ["bn1"], ["r1"]),
        helper.make_node("Conv", ["r1", weight("d4_w", (channels, channels, kernel))],
                         ["d4"], kernel_shape=[kernel], dilations=[first],
                         pads=[reach4, reach4]),
        helper.make_node("Add", ["stem", "d4"], ["res"]),
        batchnorm("res", "bn2"),
        helper.make_node("Relu", ["bn2"], ["r2"]),
        helper.make_node("Conv", ["r2", weight("d8_w", (channels, channels, kernel)),
                                  weight("d8_b", (channels,))],
                         ["d8"], kernel_shape=[kernel], dilations=[second],
                         pads=[reach8, reach8]),
    ]
    inits += [numpy_helper.from_array(np.array([crop], np.int64), "crop_start"),
              numpy_helper.from_array(np.array([-crop if crop else 2 ** 63 - 1], np.int64),
                                      "crop_end"),
              numpy_helper.from_array(np.array([2], np.int64), "crop_axis")]
    nodes += [
        helper.make_node("Slice", ["d8", "crop_start", "crop_end", "crop_axis"], ["cropped"]),
        helper.make_node("Conv", ["cropped", weight("head_w", (3, channels, 1)),
                                  weight("head_b", (3,))], ["logits"], kernel_shape=[1]),
        helper.make_node("Softmax", ["logits"], ["p"], axis=1),
        helper.make_node("Transpose", ["p"], ["y"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes, "tower", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", length, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "V", 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("opset", [13, 17])
def test_a_cropped_dilated_tower_convolves_rows_at_every_length(opset) -> None:
    stock = residual_tower(crop=48, opset=opset).SerializeToString()
    data, counts = optimize(stock)
    assert counts["conv_layouts"] == 2
    ops = Counter(n.op_type for n in onnx.load_from_string(data).graph.node)
    shape_ops = {"Shape": 1, "Sub": 2, "Mod": 1, "Pad": 1, "Slice": 2}
    if opset < 15:  # Shape takes no start/end before opset 15: a Gather picks the length
        shape_ops["Gather"] = 1
    # Dilations 4 and 8 run in phases (N, C, d, L/d). Conversions: the stem's output into
    # phases of 4 once for the BN and the residual Add (Reshape + Transpose), phases of 4 ->
    # 8 before the second dilated conv (Transpose, Reshape, Transpose), phases -> flat for
    # the Transpose out (Transpose + Reshape): 7 nodes, the fewest this graph can have.
    assert ops == Counter({"Conv": 4, "BatchNormalization": 2, "Relu": 2, "Add": 1,
                           "Softmax": 1, "Transpose": 2 + 4, "Reshape": 3, **shape_ops})
    rows_convs = [n for n in onnx.load_from_string(data).graph.node
                  if n.op_type == "Conv" and len(n.attribute) and any(
                      a.name == "kernel_shape" and list(a.ints) == [1, 9] for a in n.attribute)]
    assert len(rows_convs) == 2
    rng = np.random.default_rng(1)
    for length in (97, 104, 120, 131, 203):  # multiples of 8 and not: the pad makes them so
        x = rng.uniform(-2, 2, (2, length, 4)).astype(np.float32)
        expected = run(stock, x)
        got = run(data, x)
        assert got.shape == expected.shape == (2, length - 96, 3)
        np.testing.assert_allclose(got, expected, atol=2e-6, rtol=1e-5)


def test_wide_dilations_convolve_rows_down_their_columns() -> None:
    stock = residual_tower(crop=192, dilations=(16, 32)).SerializeToString()
    data, counts = optimize(stock)
    assert counts["conv_layouts"] == 2
    nodes = onnx.load_from_string(data).graph.node
    kernels = [list(a.ints) for n in nodes if n.op_type == "Conv" for a in n.attribute
               if a.name == "kernel_shape"]
    assert kernels.count([9, 1]) == 2 and [1, 9] not in kernels
    # rows of 16 -> 32 is one Reshape, and no Transpose but the two at the boundary
    assert Counter(n.op_type for n in nodes)["Transpose"] == 2
    rng = np.random.default_rng(2)
    for length in (385, 416, 437):
        x = rng.uniform(-2, 2, (1, length, 4)).astype(np.float32)
        np.testing.assert_allclose(run(data, x), run(stock, x), atol=2e-6, rtol=1e-5)


def test_where_padding_would_change_an_output_the_convs_run_in_the_plane() -> None:
    # 40 of the 48 steps the convs read past the end are cropped: 8 would see a pad, so no
    # rows; (N, C, 1, L) needs none, and the convs keep their dilation there
    stock = residual_tower(crop=40).SerializeToString()
    data, counts = optimize(stock)
    assert counts["conv_layouts"] == 2
    nodes = onnx.load_from_string(data).graph.node
    ops = Counter(n.op_type for n in nodes)
    assert not {"Pad", "Shape", "Mod"} & set(ops) and ops["Reshape"] == 2
    dilations = [list(a.ints) for n in nodes if n.op_type == "Conv" for a in n.attribute
                 if a.name == "dilations"]
    assert [1, 4] in dilations and [1, 8] in dilations
    x = np.random.default_rng(3).uniform(-2, 2, (2, 131, 4)).astype(np.float32)
    np.testing.assert_allclose(run(data, x), run(stock, x), atol=2e-6, rtol=1e-5)


def test_convs_with_little_work_per_step_skip_the_rows_and_the_pad() -> None:
    data, counts = optimize(residual_tower(crop=48, channels=8).SerializeToString())
    ops = Counter(n.op_type for n in onnx.load_from_string(data).graph.node)
    assert counts["conv_layouts"] == 2 and "Pad" not in ops and ops["Reshape"] == 2


@pytest.mark.parametrize(("why", "tower"), [
    ("static length: dilated_rows pads it statically", lambda: residual_tower(48, length=200)),
    ("opset 11", lambda: residual_tower(crop=48, opset=11)),
])
def test_the_native_convs_stay_where_the_pass_does_not_apply(why, tower) -> None:
    data, counts = optimize(tower().SerializeToString())
    assert counts["conv_layouts"] == 0, why


def test_the_native_lowering_keeps_every_conv_1d() -> None:
    data, counts = optimize(residual_tower(crop=48).SerializeToString(), lowering="native")
    assert "conv_layouts" not in counts and "dilated_rows" not in counts
    convs = [n for n in onnx.load_from_string(data).graph.node if n.op_type == "Conv"]
    assert len(convs) == 4 and all(
        len(next(a.ints for a in n.attribute if a.name == "kernel_shape")) == 1 for n in convs)
