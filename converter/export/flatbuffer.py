"""A .tflite file as LiteRT's schema object model, and back (no TensorFlow).

Every edit of a written file goes through these two: the I/O contract, the planted-defect
copies, the logits copies and the GPU runtime's static-shape copy.
"""

from __future__ import annotations

from typing import Any


def unpacked(data: bytes) -> Any:
    """The file's schema object model (`ModelT`): every table as a mutable object."""
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def viewed(data: bytearray) -> Any:
    """The file's schema accessors (`Model`) over `data`, nothing copied.

    A vector's numpy view (`...AsNumpy()`) writes into `data`.
    """
    from ai_edge_litert import schema_py_generated as schema

    return schema.Model.GetRootAs(data, 0)


def indices(vector: Any) -> tuple[int, ...]:
    """A flatbuffer int vector's values (the schema gives 0 for an absent vector)."""
    return () if isinstance(vector, int) else tuple(int(v) for v in vector)


def operator_code(codes: list[Any], op: Any) -> int:
    """An `Operator` accessor's builtin code, read through the model's `OperatorCode`s."""
    entry = codes[op.OpcodeIndex()]
    return int(max(entry.BuiltinCode(), entry.DeprecatedBuiltinCode()))


def packed(model: Any) -> bytes:
    """A schema object model as a .tflite flatbuffer."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def text(name: str | bytes | None) -> str:
    """A flatbuffer string as text."""
    return name.decode() if isinstance(name, bytes) else str(name or "")


# TensorType -> numpy dtype name (the schema's enum).
TENSOR_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool",
                7: "int16", 9: "int8", 10: "float64"}


def described(tensor: Any) -> dict[str, Any]:
    """A tensor's name, shape (None where dynamic) and dtype."""
    shape = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
    return {"name": text(tensor.name),
            "shape": [None if int(d) < 0 else int(d) for d in (shape if shape is not None else ())],
            "dtype": TENSOR_TYPES.get(int(tensor.type), f"type {tensor.type}")}
