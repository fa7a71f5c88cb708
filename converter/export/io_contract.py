"""One I/O contract for every artifact: the Keras model's inputs and outputs, its order, names.

The serving function returns {output name: tensor}, and both converters flatten it in
sorted-key order: the TFLite converter names the signature's outputs output_0..output_N in
that order and the tensors serving_default_<input>:0 / PartitionedCall:<k>, and tf2onnx lists
the graph's outputs in it. A two-output model whose Keras order is not alphabetical got files
whose output 0 is the other head. After export each file is rewritten so that its inputs and
outputs follow the Keras model: the TFLite signature keys and the input and output tensors
carry the Keras names, and the subgraph's and the signature's lists (the interpreter's input
and output detail order) follow the Keras order; the ONNX graph inputs and outputs likewise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from converter.artifacts import ModelGraph, TensorRef
from converter.export.flatbuffer import described, packed, text, unpacked
from converter.graph.shapes import static_shapes
from converter.normalize.channels_last import boundary_permute

IO = dict[str, list[dict[str, Any]]]  # {"inputs": [...], "outputs": [...]}, each described


def tflite_contract(data: bytes, inputs: Sequence[str], outputs: Sequence[str]) -> bytes:
    """The .tflite file with its I/O in the Keras order and names (see the module)."""
    model = unpacked(data)
    signature, graph = model.signatureDefs[0], model.subgraphs[0]
    stock = sorted(outputs)  # output_k is the k-th output key in sorted order
    for mapping in signature.outputs:
        number = text(mapping.name).rpartition("_")[2]
        if text(mapping.name).startswith("output_") and number.isdigit():
            mapping.name = stock[int(number)]
    graph.inputs = reordered(signature.inputs, inputs, graph)
    graph.outputs = reordered(signature.outputs, outputs, graph)
    signature.inputs.sort(key=lambda m: list(inputs).index(text(m.name)))
    signature.outputs.sort(key=lambda m: list(outputs).index(text(m.name)))
    return packed(model)


def reordered(mappings: list[Any], names: Sequence[str], graph: Any) -> list[int]:
    """The tensors of `mappings` (signature entries) in the order of `names`, renamed to them."""
    by_name = {text(m.name): m.tensorIndex for m in mappings}
    if sorted(by_name) != sorted(names):
        raise ValueError(f"the file's signature has {sorted(by_name)}, the model {list(names)}")
    for name in names:
        graph.tensors[by_name[name]].name = name
    return [int(by_name[name]) for name in names]


def onnx_contract(data: bytes, inputs: Sequence[str], outputs: Sequence[str]) -> bytes:
    """The .onnx file with its graph inputs and outputs in the Keras order."""
    import onnx

    model = onnx.load_from_string(data)
    graph = model.graph
    weights = {i.name for i in graph.initializer}
    fed = [i for i in graph.input if i.name not in weights]
    if sorted(i.name for i in fed) != sorted(inputs) or sorted(
            o.name for o in graph.output) != sorted(outputs):
        raise ValueError(f"the file's graph has inputs {[i.name for i in fed]} and outputs "
                         f"{[o.name for o in graph.output]}, the model {list(inputs)} and "
                         f"{list(outputs)}")
    order = {name: i for i, name in enumerate([*inputs, *outputs])}
    kept = [i for i in graph.input if i.name in weights]
    for field, values in ((graph.input, sorted(fed, key=lambda v: order[v.name]) + kept),
                          (graph.output, sorted(graph.output, key=lambda v: order[v.name]))):
        copies = [type(v)() for v in values]
        for copy, value in zip(copies, values, strict=True):
            copy.CopyFrom(value)
        del field[:]
        field.extend(copies)
    return bytes(model.SerializeToString())


def file_io(data: bytes, fmt: str) -> IO:
    """A .tflite or .onnx file's inputs and outputs, in its order: name, shape, dtype."""
    if fmt == "tflite":
        graph = unpacked(data).subgraphs[0]
        return {"inputs": [described(graph.tensors[t]) for t in graph.inputs],
                "outputs": [described(graph.tensors[t]) for t in graph.outputs]}
    import onnx

    proto = onnx.load_from_string(data).graph
    weights = {i.name for i in proto.initializer}
    return {"inputs": [onnx_described(v) for v in proto.input if v.name not in weights],
            "outputs": [onnx_described(v) for v in proto.output]}


def onnx_described(value: Any) -> dict[str, Any]:
    """A graph input's or output's name, shape (None where symbolic) and dtype."""
    from onnx.helper import tensor_dtype_to_np_dtype

    kind = value.type.tensor_type
    return {"name": value.name,
            "shape": [d.dim_value if d.HasField("dim_value") else None for d in kind.shape.dim],
            "dtype": str(tensor_dtype_to_np_dtype(kind.elem_type))}


def with_layouts(found: IO, graph: ModelGraph) -> IO:
    """A file's I/O record with each entry's layout added."""
    words = layouts(graph)
    return {side: [{**entry, **layout} for entry, layout in zip(found[side], words[side],
                                                                   strict=True)]
            for side in ("inputs", "outputs")}


def layouts(graph: ModelGraph) -> IO:
    """Each input's and output's axes in words, as the artifacts take and give them.

    A channels_first model keeps its layout at the I/O (a Permute inside) unless
    --io-layout channels_last took it out; the graph records which.
    """
    def axes(rank: int | None, first: bool) -> str:
        if rank == 3:
            return "(batch, channels, steps)" if first else "(batch, steps, channels)"
        return "(batch, features)" if rank == 2 else "(batch, ...)"

    shapes = static_shapes(graph)
    found: IO = {"inputs": [], "outputs": []}
    for side, refs, swapped in (("inputs", graph.inputs, graph.input_permutations),
                                ("outputs", graph.outputs, graph.output_permutations)):
        for index, ref in enumerate(refs):
            shape = shapes.get(ref)
            rank = None if shape is None else len(shape) + 1  # with the batch axis
            moved = index < len(swapped) and swapped[index] is not None
            permute = channels_first_boundary(graph, ref, side)
            text_ = axes(rank, permute) + (", the Keras model's (batch, channels, steps)"
                                            if moved else "")
            found[side].append({"layout": text_})
    return found


def channels_first_boundary(graph: ModelGraph, ref: TensorRef, side: str) -> bool:
    """Whether a Permute at this input or output keeps the Keras model's channels_first."""
    if side == "inputs":
        return any(boundary_permute(graph.layer(n), "channels_last")
                   for n in graph.consumers(ref.layer))
    return boundary_permute(graph.layer(ref.layer), "channels_first")
