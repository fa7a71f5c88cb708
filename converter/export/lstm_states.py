"""The fused LSTMs' state tensors, and the operators that fill them before every call.

UNIDIRECTIONAL_SEQUENCE_LSTM reads its initial states from variable tensors and leaves its
final states in them. Nothing in the stock converter's file writes them again, so each call
after the first starts where the last one ended. Here every state is a variable of its own
that an operator fills before the op runs, on every call, at that call's batch:
- zero states (what `layers.recurrent_fused` writes: a TILE of a zero column, or the constant
  the converter folds it to at a static batch): one SPLIT_V of a (batch, sum of 2 x units)
  zero tensor fills every such LSTM of the subgraph at once, first thing in the subgraph,
  sized from its first input. Filled later, after an op whose output LiteRT sizes at run time
  (a WHILE loop's), the states kept the last call's values whenever a call changed the
  length (measured, LiteRT 2.3: SimpleRNN -> LSTM, lengths 97 then 32);
- any other initial state is copied in by a TILE of multiples 1 before its LSTM.
Parity's repeated call proves it on every runtime: a file whose states carry over fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.export.flatbuffer import text
from converter.export.tflite_edit import add_tensor, constant, op_name, operator


@dataclass
class StatePlan:
    """Each marker's (output state, cell state) variables and the operators that fill them.

    `shared` goes first in the subgraph; `copies[id(m)]` goes right before marker m.
    """

    variables: dict[int, list[int]] = field(default_factory=dict)
    shared: list[Any] = field(default_factory=list)
    copies: dict[int, list[Any]] = field(default_factory=dict)


def plan_states(model: Any, subgraph: Any, markers: list[Any],
                names: dict[int, str]) -> StatePlan:
    """The state plan of one subgraph's markers (see the module)."""
    plan = StatePlan()
    kinds = [zero_start(model, subgraph, m, names) for m in markers]
    shared_kind = next((k for k in kinds if k is not None), None)
    zero_started = [m for m, k in zip(markers, kinds, strict=True)
                    if k is not None and k == shared_kind]
    for marker in markers:
        h0, c0 = int(marker.inputs[3]), int(marker.inputs[2])
        name = text(subgraph.tensors[int(marker.outputs[6])].name)
        plan.variables[id(marker)] = [
            add_tensor(model, subgraph, f"{name}/{role}", like=subgraph.tensors[h0],
                       variable=True) for role in ("output_state", "cell_state")]
        if not any(marker is m for m in zero_started):
            plan.copies[id(marker)] = [copy(model, subgraph, source, state, name)
                                       for source, state in zip(
                                           (h0, c0), plan.variables[id(marker)], strict=True)]
    if zero_started:
        plan.shared = zero_fill(model, subgraph, zero_started, str(shared_kind), plan)
    return plan


def zero_start(model: Any, subgraph: Any, marker: Any, names: dict[int, str]) -> str | None:
    """"constant" or "column" for a marker whose both states start at zero, else None."""
    c0, h0 = int(marker.inputs[2]), int(marker.inputs[3])
    values = [constant(model, subgraph, t) for t in (h0, c0)]
    if all(v is not None and not v.any() for v in values):
        return "constant"
    writer = next((op for op in subgraph.operators if h0 in op.outputs), None)
    if h0 != c0 or writer is None or op_name(model, writer, names) != "TILE":
        return None
    column = int(writer.inputs[0])
    zeros = any(column in op.outputs and op_name(model, op, names) == "ZEROS_LIKE"
                for op in subgraph.operators)
    return "column" if zeros else None


def zero_fill(model: Any, subgraph: Any, markers: list[Any], kind: str,
              plan: StatePlan) -> list[Any]:
    """The operators that zero every state of `markers` (one SPLIT_V, and its source)."""
    from ai_edge_litert import schema_py_generated as schema

    first = subgraph.tensors[int(markers[0].inputs[3])]
    widths = [int(subgraph.tensors[int(m.inputs[3])].shape[-1]) for m in markers for _ in "hc"]
    ops: list[Any] = []
    if kind == "constant":
        source = add_tensor(model, subgraph, "lstm_states/zeros",
                            data=np.zeros((int(first.shape[0]), sum(widths)), np.float32))
    else:
        source = add_tensor(model, subgraph, "lstm_states/zeros", like=first)
        for dims in (subgraph.tensors[source].shape, subgraph.tensors[source].shapeSignature):
            if dims is not None:
                dims[-1] = sum(widths)
        multiples = add_tensor(model, subgraph, "lstm_states/multiples",
                               data=np.array([1, sum(widths)], np.int32))
        column = input_column(model, subgraph, ops)
        ops.append(operator(model, schema.BuiltinOperator.TILE, [column, multiples], [source],
                            (schema.BuiltinOptions.TileOptions, schema.TileOptionsT())))
    sizes = add_tensor(model, subgraph, "lstm_states/sizes", data=np.array(widths, np.int32))
    axis = add_tensor(model, subgraph, "lstm_states/axis", data=np.array(1, np.int32))
    options = schema.SplitVOptionsT()
    options.numSplits = len(widths)
    outputs = [t for m in markers for t in plan.variables[id(m)]]
    ops.append(operator(model, schema.BuiltinOperator.SPLIT_V, [source, sizes, axis], outputs,
                        (schema.BuiltinOptions.SplitVOptions, options)))
    return ops


def input_column(model: Any, subgraph: Any, ops: list[Any]) -> int:
    """A float (batch, 1) zero column from the subgraph's first input of rank 2 or more."""
    from ai_edge_litert import schema_py_generated as schema

    index = next(int(t) for t in subgraph.inputs
                 if subgraph.tensors[int(t)].shape is not None
                 and len(subgraph.tensors[int(t)].shape) >= 2)
    tensor = subgraph.tensors[index]
    rank = len(tensor.shape)
    bounds = [add_tensor(model, subgraph, f"lstm_states/column_{role}", data=np.array(
        values, np.int32)) for role, values in (
        ("begin", [0] * rank), ("end", [0] + [1] * (rank - 1)), ("strides", [1] * rank))]
    options = schema.StridedSliceOptionsT()
    options.beginMask = options.endMask = 1
    options.shrinkAxisMask = sum(1 << axis for axis in range(2, rank))
    sliced = add_tensor(model, subgraph, "lstm_states/column", like=tensor)
    signature = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
    subgraph.tensors[sliced].shape = np.array([tensor.shape[0], 1], np.int32)
    subgraph.tensors[sliced].shapeSignature = np.array([signature[0], 1], np.int32)
    zeros = add_tensor(model, subgraph, "lstm_states/zero_column", like=subgraph.tensors[sliced])
    ops.append(operator(model, schema.BuiltinOperator.STRIDED_SLICE, [index, *bounds], [sliced],
                        (schema.BuiltinOptions.StridedSliceOptions, options)))
    ops.append(operator(model, schema.BuiltinOperator.ZEROS_LIKE, [sliced], [zeros],
                        (schema.BuiltinOptions.ZerosLikeOptions, schema.ZerosLikeOptionsT())))
    if tensor.type == 0:
        return zeros
    column = add_tensor(model, subgraph, "lstm_states/float_column", like=subgraph.tensors[zeros])
    subgraph.tensors[column].type = 0
    cast = schema.CastOptionsT()
    cast.inDataType, cast.outDataType = tensor.type, 0
    ops.append(operator(model, schema.BuiltinOperator.CAST, [zeros], [column],
                        (schema.BuiltinOptions.CastOptions, cast)))
    return column


def copy(model: Any, subgraph: Any, source: int, state: int, name: str) -> Any:
    """A TILE of multiples 1 that copies `source` into the variable `state`."""
    from ai_edge_litert import schema_py_generated as schema

    ones = add_tensor(model, subgraph, f"{name}/copy_multiples", data=np.ones(2, np.int32))
    return operator(model, schema.BuiltinOperator.TILE, [source, ones], [state],
                    (schema.BuiltinOptions.TileOptions, schema.TileOptionsT()))
