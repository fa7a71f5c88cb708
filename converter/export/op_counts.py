"""Count operators in exported files, reading them as data (no runtime needed)."""

from __future__ import annotations

from collections import Counter


def tflite_op_counts(data: bytes) -> dict[str, int]:
    """{builtin op name: count} over every subgraph of a .tflite flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(data, 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        codes.append(custom.decode() if custom else names.get(builtin, str(builtin)))
    counts: Counter[str] = Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    return dict(sorted(counts.items()))


def onnx_op_counts(data: bytes) -> dict[str, int]:
    """{op_type: count} of an ONNX model's main graph."""
    import onnx

    model = onnx.load_from_string(data)
    return dict(sorted(Counter(node.op_type for node in model.graph.node).items()))
