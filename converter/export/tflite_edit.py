"""Edits of a .tflite file's schema object model (`flatbuffer.unpacked`), and its cleanup.

Tensors and operators are added by index; `prune` then drops what no output needs: dead
operators, tensors nothing refers to, buffers no tensor holds and operator codes no operator
uses (LiteRT resolves every listed code when it loads a file, so a code left behind for a
removed custom op would fail the load).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.export.flatbuffer import text

# numpy dtype name -> TensorType (the schema's enum)
TENSOR_TYPE = {"float32": 0, "float16": 1, "int32": 2, "int64": 4, "int8": 9}
# Operators that do something besides writing their outputs: never dropped as dead.
EFFECTFUL = frozenset({"WHILE", "IF", "CALL_ONCE", "ASSIGN_VARIABLE", "VAR_HANDLE", "CUSTOM"})


def builtin_names() -> dict[int, str]:
    """{BuiltinOperator code: name}."""
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def op_name(model: Any, op: Any, names: dict[int, str]) -> str:
    """An operator's builtin name, or CUSTOM:<code> for a custom one."""
    code = model.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return f"CUSTOM:{text(code.customCode)}"
    return names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")


def producers(subgraph: Any) -> dict[int, int]:
    """{tensor index: index of the operator writing it}."""
    return {int(t): k for k, op in enumerate(subgraph.operators) for t in op.outputs}


def readers(subgraph: Any) -> dict[int, list[int]]:
    """{tensor index: indices of the operators reading it}."""
    found: dict[int, list[int]] = {}
    for k, op in enumerate(subgraph.operators):
        for t in op.inputs:
            if t >= 0:
                found.setdefault(int(t), []).append(k)
    return found


def constant(model: Any, subgraph: Any, index: int) -> np.ndarray | None:
    """The value of a constant tensor (its buffer holds data), else None."""
    tensor = subgraph.tensors[index]
    data = model.buffers[tensor.buffer].data if tensor.buffer else None
    if data is None or len(data) == 0:
        return None
    dtype = {v: k for k, v in TENSOR_TYPE.items()}.get(int(tensor.type))
    if dtype is None:
        return None
    shape = [int(d) for d in (tensor.shape if tensor.shape is not None else ())]
    return np.frombuffer(bytes(bytearray(data)), dtype=dtype).reshape(shape)


def opcode(model: Any, builtin: int, version: int = 1) -> int:
    """The index of `builtin`'s operator code, added when the file has none."""
    from ai_edge_litert import schema_py_generated as schema

    for k, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin and not code.customCode:
            return k
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def add_tensor(model: Any, subgraph: Any, name: str, like: Any = None,
               data: np.ndarray | None = None, variable: bool = False) -> int:
    """A new tensor: a constant holding `data`, or shaped `like` another tensor."""
    from ai_edge_litert import schema_py_generated as schema

    tensor = schema.TensorT()
    tensor.name = name.encode()
    if data is not None:
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).copy()
        model.buffers.append(buffer)
        tensor.buffer = len(model.buffers) - 1
        tensor.shape = np.array(data.shape, np.int32)
        tensor.type = TENSOR_TYPE[str(data.dtype)]
    else:
        tensor.buffer = 0
        tensor.shape = np.array(like.shape, np.int32)
        if like.shapeSignature is not None:
            tensor.shapeSignature = np.array(like.shapeSignature, np.int32)
        tensor.type = like.type
    tensor.isVariable = variable
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def operator(model: Any, builtin: int, inputs: list[int], outputs: list[int],
             options: tuple[int, Any] | None = None, version: int = 1) -> Any:
    """A new builtin operator (not yet placed in a subgraph)."""
    from ai_edge_litert import schema_py_generated as schema

    op = schema.OperatorT()
    op.opcodeIndex = opcode(model, builtin, version)
    op.inputs = np.array(inputs, np.int32)
    op.outputs = np.array(outputs, np.int32)
    if options is not None:
        op.builtinOptionsType, op.builtinOptions = options
    return op


def prune(model: Any) -> None:
    """Merge repeated operators; drop dead ones, then unused tensors, buffers and codes."""
    names = builtin_names()
    for index, subgraph in enumerate(model.subgraphs):
        merge_repeats(model, subgraph, names)
        drop_dead_operators(model, subgraph, names)
        drop_unused_tensors(model, subgraph, index)
    drop_unused_buffers(model)
    drop_unused_codes(model)


def merge_repeats(model: Any, subgraph: Any, names: dict[int, str]) -> None:
    """Readers of a pure operator that repeats an earlier one read the earlier one's outputs.

    Two operators repeat each other when they have the same code, options and inputs
    (constants compared by value) and outputs of the same shapes; the later one is left dead.
    """
    first: dict[Any, Any] = {}
    renamed: dict[int, int] = {}
    keep = {int(t) for t in subgraph.outputs}
    for op in subgraph.operators:
        op.inputs = np.array([renamed.get(int(t), int(t)) for t in op.inputs], np.int32)
        outputs = [subgraph.tensors[int(t)] for t in op.outputs]
        if (op_name(model, op, names).split(":")[0] in EFFECTFUL
                or any(t.isVariable for t in outputs) or keep & {int(t) for t in op.outputs}):
            continue
        key = (op.opcodeIndex, options_key(op.builtinOptions),
               tuple(input_key(model, subgraph, int(t)) for t in op.inputs),
               tuple(tuple(t.shape if t.shape is not None else ()) for t in outputs))
        if key in first:
            renamed.update(zip((int(t) for t in op.outputs),
                               (int(t) for t in first[key].outputs), strict=True))
        else:
            first[key] = op


def options_key(options: Any) -> Any:
    """An operator's builtin options as a comparable value (arrays by their elements)."""
    if options is None:
        return None
    return tuple(sorted((name, tuple(np.ravel(value).tolist()) if isinstance(value, np.ndarray)
                         else value) for name, value in vars(options).items()))


def input_key(model: Any, subgraph: Any, index: int) -> Any:
    """An input as `merge_repeats` compares it: a constant by its value, a tensor by index."""
    value = constant(model, subgraph, index) if index >= 0 else None
    return index if value is None else (str(value.dtype), value.shape, value.tobytes())


def drop_dead_operators(model: Any, subgraph: Any, names: dict[int, str]) -> None:
    """Remove, last to first, every pure operator none of whose outputs is needed."""
    needed = {int(t) for t in subgraph.outputs}
    kept = []
    for op in reversed(subgraph.operators):
        effectful = op_name(model, op, names).split(":")[0] in EFFECTFUL
        if effectful or any(int(t) in needed for t in op.outputs):
            kept.append(op)
            needed.update(int(t) for t in op.inputs if t >= 0)
    subgraph.operators = kept[::-1]


def drop_unused_tensors(model: Any, subgraph: Any, index: int) -> None:
    """Remove tensors nothing refers to and renumber the references."""
    signatures = [m for s in model.signatureDefs or () if s.subgraphIndex == index
                  for m in (*(s.inputs or ()), *(s.outputs or ()))]
    used = {int(t) for t in (*subgraph.inputs, *subgraph.outputs)} | {
        m.tensorIndex for m in signatures}
    for op in subgraph.operators:
        used.update(int(t) for t in (*op.inputs, *op.outputs,
                                     *(op.intermediates if op.intermediates is not None else ()))
                    if t >= 0)
    order = sorted(used)
    new = {old: k for k, old in enumerate(order)}

    def renumbered(values: Any) -> np.ndarray:
        return np.array([new[int(t)] if t >= 0 else -1 for t in values], np.int32)

    subgraph.tensors = [subgraph.tensors[t] for t in order]
    subgraph.inputs, subgraph.outputs = renumbered(subgraph.inputs), renumbered(subgraph.outputs)
    for op in subgraph.operators:
        op.inputs, op.outputs = renumbered(op.inputs), renumbered(op.outputs)
        if op.intermediates is not None:
            op.intermediates = renumbered(op.intermediates)
    for tensor_map in signatures:
        tensor_map.tensorIndex = new[tensor_map.tensorIndex]


def drop_unused_buffers(model: Any) -> None:
    """Remove buffers no tensor or metadata entry holds (buffer 0 stays the empty one)."""
    used = {0} | {t.buffer for s in model.subgraphs for t in s.tensors} | {
        m.buffer for m in model.metadata or ()} | {int(b) for b in model.metadataBuffer or ()}
    order = sorted(used)
    new = {old: k for k, old in enumerate(order)}
    model.buffers = [model.buffers[b] for b in order]
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            tensor.buffer = new[tensor.buffer]
    for entry in model.metadata or ():
        entry.buffer = new[entry.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [new[int(b)] for b in model.metadataBuffer]


def drop_unused_codes(model: Any) -> None:
    """Remove operator codes no operator uses and renumber the operators'."""
    order = sorted({op.opcodeIndex for s in model.subgraphs for op in s.operators})
    new = {old: k for k, old in enumerate(order)}
    model.operatorCodes = [model.operatorCodes[c] for c in order]
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            op.opcodeIndex = new[op.opcodeIndex]
