"""Editing a .tflite file as data: repeated operators merged, dead ones and their leftovers gone."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.export.flatbuffer import packed, unpacked
from converter.export.op_counts import tflite_op_counts
from converter.export.tflite_edit import add_tensor, operator, prune


def small_model() -> Any:
    """in -> ADD(in, c) twice -> MUL of the two; a dead SUB and an unread constant beside."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    model.operatorCodes = []
    graph = schema.SubGraphT()
    graph.tensors, graph.operators = [], []
    model.subgraphs = [graph]
    like = schema.TensorT()
    like.shape, like.type, like.shapeSignature = np.array([2, 4], np.int32), 0, None
    x, a, b, out, dead = (add_tensor(model, graph, name, like=like)
                          for name in ("x", "a", "b", "out", "dead"))
    # the same constant twice, as a converter writes it for two layers
    c1, c2 = (add_tensor(model, graph, name, data=np.arange(4, dtype=np.float32))
              for name in ("c1", "c2"))
    add_tensor(model, graph, "unread", data=np.ones(64, np.float32))
    graph.inputs, graph.outputs = np.array([x], np.int32), np.array([out], np.int32)
    add = (schema.BuiltinOptions.AddOptions, schema.AddOptionsT())
    graph.operators = [
        operator(model, schema.BuiltinOperator.ADD, [x, c1], [a], add),
        operator(model, schema.BuiltinOperator.ADD, [x, c2], [b], add),
        operator(model, schema.BuiltinOperator.SUB, [x, c1], [dead],
                 (schema.BuiltinOptions.SubOptions, schema.SubOptionsT())),
        operator(model, schema.BuiltinOperator.MUL, [a, b], [out],
                 (schema.BuiltinOptions.MulOptions, schema.MulOptionsT())),
    ]
    return model


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def test_prune_merges_repeats_and_drops_dead_operators_tensors_buffers_and_codes() -> None:
    before = packed(small_model())
    model = small_model()
    prune(model)
    after = packed(model)
    assert tflite_op_counts(before) == {"ADD": 2, "MUL": 1, "SUB": 1}
    assert tflite_op_counts(after) == {"ADD": 1, "MUL": 1}
    read = unpacked(after)
    graph = read.subgraphs[0]
    assert [t.name.decode() for t in graph.tensors] == ["x", "a", "out", "c1"]
    (add, mul) = graph.operators
    assert list(mul.inputs) == [1, 1] and list(graph.outputs) == [2]
    assert len(read.buffers) == 2 and len(read.operatorCodes) == 2  # the empty one and c1
    assert len(after) < len(before) - 200  # the unread constant's 256 bytes are gone
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    assert np.array_equal(run(after, x), run(before, x))
    assert np.allclose(run(after, x), (x + np.arange(4)) ** 2)
