"""TFLite post-pass: each marked LSTM (a BlockLSTMV2 custom op) -> UNIDIRECTIONAL_SEQUENCE_LSTM.

Given: the converter's file for a graph whose LSTM layers were written as BlockLSTMV2
(`layers.recurrent_fused`): inputs (length, x time-major, c0, h0, w = [kernel; recurrent
kernel] with gates i, f, c, o, three zero peepholes, bias), output 6 the hidden sequence.
Result: one fused builtin per marker with the eight weight matrices and four biases split
out of w and b (float16 weights stay float16 behind a DEQUANTIZE each, as the converter
writes them), reading and writing batch-major where the marker sat between a pair of
transposes (they are then dropped), time-major otherwise.

The fused kernel keeps its states in variable tensors and leaves the final state in them;
`lstm_states` fills them again before every call, at that call's batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.export.flatbuffer import packed, text, unpacked
from converter.export.lstm_states import plan_states
from converter.export.tflite_edit import (
    add_tensor,
    builtin_names,
    constant,
    op_name,
    operator,
    prune,
)

MARKER = "CUSTOM:BlockLSTMV2"
BATCH_MAJOR = (1, 0, 2)
GATES = ("input", "forget", "cell", "output")  # Keras's and BlockLSTMV2's column order


def fuse_marked_lstms(data: bytes) -> bytes:
    """The file with every marker replaced (see the module); unchanged when it has none."""
    model = unpacked(data)
    names = builtin_names()
    found = False
    for subgraph in model.subgraphs:
        markers = [op for op in subgraph.operators if op_name(model, op, names) == MARKER]
        if not markers:
            continue
        found = True
        plan = plan_states(model, subgraph, markers, names)
        pieces: dict[tuple[int, int], list[int]] = {}
        rewritten: list[Any] = list(plan.shared)
        skipped: list[Any] = []  # transposes the fused ops write past
        for op in subgraph.operators:
            if not any(op is m for m in markers):
                rewritten.append(op)
                continue
            rewritten.extend(plan.copies.get(id(op), ()))
            rewritten.extend(fused(model, subgraph, op, names, pieces, rewritten, skipped,
                                   plan.variables[id(op)]))
        subgraph.operators = [op for op in rewritten if not any(op is s for s in skipped)]
    if not found:
        return data
    prune(model)
    return packed(model)


def fused(model: Any, subgraph: Any, marker: Any, names: dict[int, str],
          pieces: dict[tuple[int, int], list[int]], before: list[Any],
          skipped: list[Any], states: list[int]) -> list[Any]:
    """The operators that replace one marker: its weights' dequantizes, then the LSTM.

    The output transpose the op writes past goes into `skipped`.
    """
    from ai_edge_litert import schema_py_generated as schema

    x, w, b = (int(marker.inputs[k]) for k in (1, 4, 8))
    hidden = int(marker.outputs[6])
    ends = batch_major_ends(model, subgraph, x, hidden, before, names)
    if ends is not None:
        x, hidden = ends[0], int(ends[1].outputs[0])
        skipped.append(ends[1])
    added: list[Any] = []
    if (w, b) not in pieces:
        pieces[(w, b)] = split_weights(model, subgraph, w, b, before, added, names)
    weights = pieces[(w, b)]
    options = schema.UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction = schema.ActivationFunctionType.TANH
    options.timeMajor = ends is None
    inputs = [x, *weights[:8], -1, -1, -1, *weights[8:], -1, -1, *states, -1, -1, -1, -1]
    added.append(operator(model, schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, inputs,
                          [hidden], (schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions,
                                     options)))
    return added


def batch_major_ends(model: Any, subgraph: Any, x: int, hidden: int, before: list[Any],
                     names: dict[int, str]) -> tuple[int, Any] | None:
    """(batch-major input, output transpose) where the fused op can read and write past both.

    The marker reads `transpose(x, (1, 0, 2))` and only the reverse transpose reads its output
    (what `recurrent_fused` writes; at batch 1 the converter makes reshapes of them, the
    first one sometimes from a 4-D conv output: that one is pointed at (1, T, F) instead).
    The fused op then runs batch-major and writes the output transpose's tensor.
    """
    writer = next((op for op in before if x in op.outputs), None)
    users = [op for op in subgraph.operators if hidden in op.inputs]
    if (writer is None or len(users) != 1 or hidden in subgraph.outputs
            or not swaps_time_and_batch(model, subgraph, users[0], names)):
        return None
    if swaps_time_and_batch(model, subgraph, writer, names):
        return int(writer.inputs[0]), users[0]
    readers = [op for op in subgraph.operators if x in op.inputs]
    if op_name(model, writer, names) != "RESHAPE" or len(readers) != 1:
        return None
    tensor = subgraph.tensors[x]
    if tensor.shape is None or len(tensor.shape) != 3 or tensor.shape[1] != 1:
        return None
    order = [1, 0, 2]
    tensor.shape = tensor.shape[order]
    if tensor.shapeSignature is not None:
        tensor.shapeSignature = tensor.shapeSignature[order]
    dims = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
    shape = add_tensor(model, subgraph, f"{text(tensor.name)}/batch_major",
                       data=np.array(dims, np.int32))
    writer.inputs = np.array([writer.inputs[0], shape], np.int32)
    writer.builtinOptions = None
    writer.builtinOptionsType = 0
    return x, users[0]


def swaps_time_and_batch(model: Any, subgraph: Any, op: Any, names: dict[int, str]) -> bool:
    """A transpose (1, 0, 2), or a reshape between (1, T, X) and (T, 1, X)."""
    kind = op_name(model, op, names)
    if kind == "TRANSPOSE":
        perm = constant(model, subgraph, int(op.inputs[1]))
        return perm is not None and tuple(int(d) for d in np.ravel(perm)) == BATCH_MAJOR
    if kind != "RESHAPE":
        return False
    source, target = (subgraph.tensors[int(t)].shape for t in (op.inputs[0], op.outputs[0]))
    if source is None or target is None or len(source) != 3 or len(target) != 3:
        return False
    return bool((source[0] == target[1] == 1 or source[1] == target[0] == 1) and (
        source[2] == target[2] and max(source[:2]) == max(target[:2])))


def split_weights(model: Any, subgraph: Any, w: int, b: int, before: list[Any],
                  added: list[Any], names: dict[int, str]) -> list[int]:
    """Tensors for inputs 1-8 (input and recurrent weights) and 12-15 (biases), per gate."""
    kernel, half = stored(model, subgraph, w, before, names)
    bias, _ = stored(model, subgraph, b, before, names)
    units = bias.shape[0] // 4
    features = kernel.shape[0] - units
    name = text(subgraph.tensors[w].name)
    parts = [(f"input_to_{g}_weights", kernel[:features, k * units:(k + 1) * units].T)
             for k, g in enumerate(GATES)]
    parts += [(f"recurrent_to_{g}_weights", kernel[features:, k * units:(k + 1) * units].T)
              for k, g in enumerate(GATES)]
    parts += [(f"{g}_gate_bias" if g != "cell" else "cell_bias",
               bias[k * units:(k + 1) * units]) for k, g in enumerate(GATES)]
    return [weight_tensor(model, subgraph, f"{name}/{part}", array, half, added)
            for part, array in parts]


def stored(model: Any, subgraph: Any, index: int, before: list[Any],
           names: dict[int, str]) -> tuple[np.ndarray, bool]:
    """A weight's value and whether the file stores it as float16 (behind a DEQUANTIZE)."""
    value = constant(model, subgraph, index)
    if value is not None:
        return value.astype(np.float32), False
    writer = next((op for op in before if index in op.outputs), None)
    if writer is not None and op_name(model, writer, names) == "DEQUANTIZE":
        source = int(writer.inputs[0])
        value = constant(model, subgraph, source)
        if value is not None and value.dtype == np.float16:
            return value.astype(np.float32), True
    raise ValueError(f"the LSTM weight {text(subgraph.tensors[index].name)} is not a constant")


def weight_tensor(model: Any, subgraph: Any, name: str, array: np.ndarray, half: bool,
                  added: list[Any]) -> int:
    """A float32 constant, or a float16 one and the DEQUANTIZE that reads it."""
    from ai_edge_litert import schema_py_generated as schema

    array = np.ascontiguousarray(array)
    if not half:
        return add_tensor(model, subgraph, name, data=array.astype(np.float32))
    source = add_tensor(model, subgraph, f"{name}/float16", data=array.astype(np.float16))
    target = add_tensor(model, subgraph, name, like=subgraph.tensors[source])
    subgraph.tensors[target].type = 0
    added.append(operator(model, schema.BuiltinOperator.DEQUANTIZE, [source], [target],
                          (schema.BuiltinOptions.DequantizeOptions, schema.DequantizeOptionsT())))
    return target


def custom_ops(data: bytes) -> list[str]:
    """The custom operator codes a file still uses."""
    model = unpacked(data)
    return sorted({text(model.operatorCodes[op.opcodeIndex].customCode)
                   for s in model.subgraphs for op in s.operators
                   if model.operatorCodes[op.opcodeIndex].customCode})

