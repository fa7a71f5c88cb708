"""Plant defects in exported files: the parity engine must catch and localise each one.

Each defect edits one convolution's weights inside the .onnx or .tflite file itself (the
converters' own output, changed after the fact), the way a broken converter or a corrupted
release artefact would differ from the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

Defect = Callable[[np.ndarray, np.ndarray | None, int], tuple[np.ndarray, np.ndarray | None]]


def scale_one_channel(
    kernel: np.ndarray, bias: np.ndarray | None, axis: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Output channel 0 scaled by 1.01."""
    out = kernel.copy()
    index = [slice(None)] * kernel.ndim
    index[axis] = 0
    out[tuple(index)] *= 1.01
    return out, bias


def scale_all(
    kernel: np.ndarray, bias: np.ndarray | None, axis: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Every weight of the layer scaled by 1.001."""
    return kernel * np.float32(1.001), None if bias is None else bias * np.float32(1.001)


def swap_two_channels(
    kernel: np.ndarray, bias: np.ndarray | None, axis: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Output channels 0 and 1 swapped."""
    order = np.arange(kernel.shape[axis])
    order[[0, 1]] = order[[1, 0]]
    return np.take(kernel, order, axis=axis), bias


def drop_bias(
    kernel: np.ndarray, bias: np.ndarray | None, axis: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The bias set to zero."""
    return kernel, None if bias is None else np.zeros_like(bias)


DEFECTS: dict[str, Defect] = {
    "one-channel-x1.01": scale_one_channel,
    "all-weights-x1.001": scale_all,
    "two-channels-swapped": swap_two_channels,
    "bias-dropped": drop_bias,
}


def plant_onnx(source: Path, target: Path, layer: str, defect: Defect) -> None:
    """Apply `defect` to the Conv node of `layer` (weights (out, in, ...): axis 0)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    inits = {i.name: i for i in model.graph.initializer}
    scope = f"/{layer}_1/"
    node = next(n for n in model.graph.node if n.op_type == "Conv" and scope in n.name)
    kernel = numpy_helper.to_array(inits[node.input[1]])
    bias_name = node.input[2] if len(node.input) > 2 else None
    if bias_name is None:  # tf2onnx may keep the bias in the layer's BiasAdd (an Add node)
        channels = kernel.shape[0]
        bias_name = next((i for n in model.graph.node if n.op_type == "Add" and scope in n.name
                          for i in n.input if i in inits
                          and numpy_helper.to_array(inits[i]).size == channels), None)
    bias = numpy_helper.to_array(inits[bias_name]) if bias_name else None
    kernel, bias = defect(kernel, bias, 0)
    inits[node.input[1]].CopyFrom(numpy_helper.from_array(kernel, node.input[1]))
    if bias_name and bias is not None:
        inits[bias_name].CopyFrom(numpy_helper.from_array(bias, bias_name))
    onnx.save(model, str(target))


def plant_tflite(source: Path, target: Path, layer: str, defect: Defect) -> None:
    """Apply `defect` to the CONV_2D of `layer` (filters OHWI: axis 0) in the flatbuffer."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(source.read_bytes()), 0)
    graph = model.subgraphs[0]
    codes = [c.builtinCode or c.deprecatedBuiltinCode for c in model.operatorCodes]
    conv = next(op for op in graph.operators
                if codes[op.opcodeIndex] == schema.BuiltinOperator.CONV_2D
                and f"/{layer}_1/" in graph.tensors[op.outputs[0]].name.decode())

    def read(index: int) -> np.ndarray:
        """A float32 constant tensor of the flatbuffer."""
        tensor = graph.tensors[index]
        data = np.frombuffer(bytes(model.buffers[tensor.buffer].data), dtype=np.float32)
        return data.reshape(tensor.shape).copy()

    def write(index: int, value: np.ndarray) -> None:
        """Replace a constant tensor's bytes."""
        buffer = model.buffers[graph.tensors[index].buffer]
        buffer.data = np.frombuffer(value.astype(np.float32).tobytes(), dtype=np.uint8)

    bias_index = conv.inputs[2] if len(conv.inputs) > 2 and conv.inputs[2] >= 0 else None
    if bias_index is None or not read(bias_index).any():
        # Dilated convs at a dynamic length keep their bias in a separate ADD of the layer.
        add = next((op for op in graph.operators
                    if codes[op.opcodeIndex] == schema.BuiltinOperator.ADD
                    and f"/{layer}_1/" in graph.tensors[op.outputs[0]].name.decode()), None)
        constant = [i for i in (add.inputs if add else []) if model.buffers[
            graph.tensors[i].buffer].data is not None]
        bias_index = constant[0] if constant else bias_index
    kernel, bias = defect(read(conv.inputs[1]),
                          read(bias_index) if bias_index is not None else None, 0)
    write(conv.inputs[1], kernel)
    if bias_index is not None and bias is not None:
        write(bias_index, bias)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
