"""Checks that cannot pass vacuously: information, logits, planted defects, input search
(no TensorFlow: graphs and ONNX files are built by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter.artifacts import Artifact, InputSpec, Layer, LayerCall, ModelGraph, TensorRef
from converter.parity.defects import plant
from converter.parity.editable import Weighted
from converter.parity.information import assess
from converter.parity.judge import expected_from, judge, power_of
from converter.parity.probe import middle, onnx_outputs
from converter.parity.runner import WorkerOutcome
from converter.parity.search import DEFAULT, choose


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


LOGITS = np.array([[30.0, 1.0, 0.0], [0.0, 25.0, 1.0], [2.0, 0.0, 40.0]])


@pytest.mark.parametrize(("values", "kind", "informative", "reason"), [
    ([softmax(LOGITS)], "softmax", False, "a saturated softmax"),
    ([softmax(LOGITS / 10)], "softmax", True, ""),
    ([softmax(np.array([[3.0, 0, 0], [2.0, 0, 1], [4.0, 1, 0]]))], "softmax", False,
     "one predicted class (0)"),
    ([np.full((4, 2), 0.25)], None, False, "the same value for all 4 input rows"),
    ([np.array([[np.nan, 1.0], [0.0, 2.0]])], None, False, "1 NaN/inf values"),
    ([np.array([[1e-9], [1 - 1e-9], [1e-8]])], "sigmoid", False, "a saturated sigmoid"),
    ([np.array([[0.2], [0.9], [1e-8]])], "sigmoid", True, ""),
], ids=["saturated", "soft", "one-class", "constant", "nan", "sigmoid-pinned", "sigmoid"])
def test_information_of_reference_outputs(values, kind, informative: bool, reason: str) -> None:
    found = assess(values, kind)
    assert found.informative is informative
    assert found.reason.startswith(reason)


def artifact() -> Artifact:
    return Artifact("m.onnx", "onnx", "fp32", 1, "0" * 64, {}, ("x",), ("probs",))


def reference() -> WorkerOutcome:
    return WorkerOutcome("ok", outputs=[[softmax(LOGITS)]], logits=[[LOGITS]])


def check_of(probs: np.ndarray, logits: np.ndarray | None):
    """The ort-cpu check of one computed output (and its logits, when read)."""
    expected = expected_from(reference(), ("probs",), {"probs": "softmax"})
    read = {} if logits is None else {"probs": [logits]}
    return judge("ort-cpu", artifact(), WorkerOutcome("ok", outputs=[[probs]]), reference(),
                 expected, read, "keras")


def test_a_saturated_output_without_logits_is_inconclusive_not_passed() -> None:
    check = check_of(softmax(LOGITS), None)
    assert check.status == "inconclusive"
    assert "probs: the reference carries no information (a saturated softmax" in check.reason
    assert "its logits could not be read" in check.reason


def test_logits_catch_a_change_the_saturated_output_hides() -> None:
    wrong = LOGITS * np.array([1.0, 1.3, 1.3])  # the planted 1.3x of classes 1-2
    assert np.abs(softmax(wrong) - softmax(LOGITS)).max() < 1e-5  # invisible in the output
    check = check_of(softmax(wrong), wrong)
    assert check.status == "failed"
    assert "probs logits: max abs" in check.reason
    assert check.outputs[0].logits is not None and not check.outputs[0].logits.passed
    assert check_of(softmax(LOGITS), LOGITS).status == "passed"


def test_power_counts_the_planted_copies_the_check_catches() -> None:
    check = check_of(softmax(LOGITS), LOGITS)
    defects = [{"kind": "layer", "description": "x1.001"}, {"kind": "bias", "description": "b"}]
    copies = [[[softmax(LOGITS)]], [[softmax(LOGITS + [0.0, 0.0, 5.0])]]]
    logits = [{"probs": [LOGITS * 1.001]}, {"probs": [LOGITS + [0.0, 0.0, 5.0]]}]
    power = power_of(check, artifact(), defects, copies, logits,
                     expected_from(reference(), ("probs",), {"probs": "softmax"}))
    assert (power["planted"], power["caught"]) == (2, 2)
    assert power["smallest_caught"] == "x1.001"
    unseen = power_of(check, artifact(), defects[:1], copies[:1], [{}],
                      expected_from(reference(), ("probs",), {"probs": "softmax"}))
    assert (unseen["caught"], unseen["smallest_caught"]) == (0, None)


def onnx_classifier(path: Path) -> Path:
    """x (N, 4) -> MatMul(4x3) -> Add(bias) -> Softmax, written with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w")
    bias = numpy_helper.from_array(np.array([0.5, -0.5, 1.0], np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"], name="dense/MatMul"),
             helper.make_node("Add", ["mm", "b"], ["logits"], name="dense/BiasAdd"),
             helper.make_node("Softmax", ["logits"], ["probs"], name="dense/Softmax")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [None, 4])], [helper.make_tensor_value_info(
            "probs", TensorProto.FLOAT, [None, 3])], [weights, bias])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_defects_are_planted_in_copies_and_the_logits_read_from_them(tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    source = onnx_classifier(tmp_path / "m.onnx")
    defects = plant(source, "onnx", tmp_path)
    assert [d.kind for d in defects] == ["layer", "middle channel", "last channel", "bias"]
    assert defects[0].description == "every weight of dense (a middle weighted layer) " \
                                     "x1.001"
    original = {i.name: numpy_helper.to_array(i) for i in onnx.load(source).graph.initializer}
    for defect in defects:
        edited = {i.name: numpy_helper.to_array(i)
                  for i in onnx.load(defect.path).graph.initializer}
        changed = [n for n in original if not np.array_equal(original[n], edited[n])]
        assert changed == (["b"] if defect.kind == "bias" else ["w"]), defect
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    values, located = onnx_outputs(source, ["probs"], [{"x": x}])
    assert located == ["probs"]
    np.testing.assert_allclose(values[(0, "probs")], x @ original["w"] + original["b"],
                               rtol=1e-6)


def three_dense(path: Path, dead: int) -> Path:
    """x (N, 4) -> Dense(6, relu) -> Dense(6, relu) -> Dense(3) -> Softmax.

    Channel `dead` of the middle Dense has the largest weights and a bias of -1000: ReLU
    zeroes it on every input, so scaling it changes nothing.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    middle = rng.normal(size=(6, 6))
    middle[:, dead] *= 10
    bias = np.zeros(6)
    bias[dead] = -1000
    arrays = {"w0": rng.normal(size=(4, 6)), "w1": middle, "b1": bias,
              "w2": rng.normal(size=(6, 3))}
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h0"], name="d0"),
             helper.make_node("Relu", ["h0"], ["r0"]),
             helper.make_node("MatMul", ["r0", "w1"], ["m1"], name="d1"),
             helper.make_node("Add", ["m1", "b1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "w2"], ["logits"], name="d2"),
             helper.make_node("Softmax", ["logits"], ["probs"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [None, 4])], [helper.make_tensor_value_info(
            "probs", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in arrays.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("dead", [0, 3])
def test_the_middle_channel_is_one_the_inputs_reach(tmp_path: Path, dead: int) -> None:
    from converter.parity.defects import grouped, middle_candidates, opener

    source = three_dense(tmp_path / "m.onnx", dead)
    layers = grouped(opener("onnx")(source).weighted(), lambda name: None)
    assert middle_candidates(layers)[0] == dead  # the largest channel is the dead one
    x = np.random.default_rng(1).uniform(-2, 2, size=(4, 4)).astype(np.float32)
    chosen = middle(source, "onnx", layers, lambda p, c: onnx_outputs(p, ["probs"], c),
                    [{"x": x}], tmp_path)
    assert chosen is not None and chosen.layer == 1  # the only layer of the middle half
    assert chosen.channel != dead and chosen.channel in middle_candidates(layers, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # trial copies removed


def tanh_graph(scale: float) -> ModelGraph:
    """x (8,) -> Dense(8) -> Dense(8, tanh), its kernel x`scale` -> Dense(3, softmax).

    At a large scale, uniform [-2, 2] saturates the tanh: a defect in its layer vanishes.
    """
    rng = np.random.default_rng(3)

    def dense(name: str, reads: str, units: int, kernel: np.ndarray, **config: str) -> Layer:
        return Layer(name, "Dense", {"units": units, **config}, (LayerCall((TensorRef(reads),)),),
                     (kernel, np.zeros(units)))

    layers = (Layer("x", "InputLayer", {"batch_shape": [None, 8]}),
              dense("a", "x", 8, rng.normal(size=(8, 8))),
              dense("h", "a", 8, scale * rng.normal(size=(8, 8)), activation="tanh"),
              dense("d", "h", 3, rng.normal(size=(8, 3)), activation="softmax"))
    return ModelGraph(layers, (TensorRef("x"),), (TensorRef("d"),))


def test_the_input_search_keeps_the_default_unless_it_saturates() -> None:
    spec = (InputSpec("x", (None, 8), "float32"),)
    calm = choose(tanh_graph(0.3), spec, 0, 4, 32)
    assert calm.rows[:2] == (DEFAULT, DEFAULT)  # the rest add predicted classes
    assert calm.note.startswith("searched 15 distributions on the NumPy reference: uniform "
                                "in [-2, 2] keeps every output informative and shows 3 of 3")
    saturated = choose(tanh_graph(40.0), spec, 0, 4, 32)
    assert DEFAULT not in saturated.rows
    assert "shows 2 of 3 planted defects" in saturated.note


def test_the_parity_rows_are_the_search_rows_so_its_classes_are_theirs() -> None:
    from converter.parity.inputs import synthetic_cases
    from converter.reference import run_graph

    spec = (InputSpec("x", (None, 8), "float32"),)
    graph = tanh_graph(0.3)
    choice = choose(graph, spec, 0, 4, 32)
    claimed = int(choice.note.rsplit("; ", 1)[1].split()[0])
    assert claimed >= 2 and len(choice.searched) == 4
    cases = synthetic_cases(spec, 0, 4, (32,), choice.rows, choice.searched)
    probabilities = run_graph(graph, [cases[0]["x"]])[0]
    assert len(set(probabilities.argmax(axis=-1).tolist())) == claimed
    again = synthetic_cases(spec, 0, 4, (32,), choice.rows, choice.searched)
    assert np.array_equal(cases[0]["x"], again[0]["x"])  # seeded: the same rows every run

def test_the_middle_layer_candidates_are_the_middle_half_the_middle_first() -> None:
    from converter.parity.defects import Group, grouped, middle_layers

    def layers(count: int) -> list[Group]:
        return grouped([Weighted(f"l{i}", np.ones(2), False) for i in range(count)],
                       lambda name: None)

    assert middle_layers(layers(1)) == [0]
    assert middle_layers(layers(10)) == [5, 2, 3, 4, 6]
    for count in range(3, 40):
        found = middle_layers(layers(count))
        assert found[0] == count // 2 and count - 1 not in found
        assert all(count // 4 <= x < max(count // 4 + 1, 3 * count // 4) for x in found)


def test_a_layers_entries_are_one_layer_where_its_scope_names_it() -> None:
    """An unrolled LSTM's steps in a .tflite file are edited together, as the layer is."""
    from converter.parity.defects import grouped
    from converter.parity.localize import first_layer

    names = ["model/conv1d_1/Relu;model/conv1d_1/BiasAdd", "model/lstm_1/lstm_cell_1/MatMul",
             "model/lstm_1/lstm_cell_1/MatMul_1", "model/lstm_1/lstm_cell_3/MatMul",
             "model/dense_1_2/MatMul;model/dense_1_2/BiasAdd", "Identity/MatMul"]
    entries = [Weighted(n, np.array([3.0, 4.0]), "BiasAdd" in n) for n in names]
    layers = {"conv1d", "lstm", "dense", "dense_1"}  # Keras 3 traced: dense_1 is dense_1_2
    groups = grouped(entries, lambda n: first_layer(n, layers))
    assert [(g.name, g.entries, g.biased) for g in groups] == [
        ("conv1d", (0,), (0,)), ("lstm", (1, 2, 3), ()), ("dense_1", (4,), (4,)),
        ("Identity", (5,), ())]
    np.testing.assert_allclose(groups[1].channel_norms, np.sqrt(3) * np.array([3.0, 4.0]))
