"""Edit a .tflite file's weights for a planted defect (see `defects`), through its schema.

Weighted ops are CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV; where
the op's own bias is zero or absent, a per-channel constant an ADD right after it adds (past
reshapes) is its bias, as the TFLite converter leaves a conv's bias that a Squeeze
separates from it. A weight
stored as float16 behind a DEQUANTIZE is edited at its source; an int8 weight with a scale
per output channel has that scale changed (exactly the dequantised change), one with a
single scale has its integers rounded.

The file is never unpacked and packed again: a weight keeps its size, so each edit writes
into the file's own bytes, through the schema's views of its vectors (the trial copies the
probe makes for a large model cost a copy of the bytes, not a rebuilt flatbuffer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from converter.export.flatbuffer import indices, operator_code, viewed
from converter.parity.editable import Weighted, WeightFile

# opcode -> (weight input, output-channel axis of the weight, bias input)
WEIGHTED = {3: (1, 0, 2), 4: (1, 3, 2), 9: (1, 0, 2), 67: (1, 0, 3)}
DEQUANTIZE = 6
ADD = 0
RESHAPES = {22, 43, 70}  # RESHAPE, SQUEEZE, EXPAND_DIMS
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 9: np.int8, 3: np.uint8, 4: np.int64}


class Op(NamedTuple):
    """An operator: its builtin code, input and output tensor indices."""

    code: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


class TfliteEditable(WeightFile):
    """A .tflite file opened for editing its weight buffers."""

    def __init__(self, path: Path) -> None:
        self.data = bytearray(Path(path).read_bytes())
        self.model = viewed(self.data)
        graph = self.model.Subgraphs(0)
        self.tensors = [graph.Tensors(t) for t in range(graph.TensorsLength())]
        codes = [self.model.OperatorCodes(c) for c in range(self.model.OperatorCodesLength())]
        ops = [graph.Operators(k) for k in range(graph.OperatorsLength())]
        operators = [Op(operator_code(codes, op), indices(op.InputsAsNumpy()),
                        indices(op.OutputsAsNumpy())) for op in ops]
        producers = {t: op for op in operators for t in op.outputs}
        readers: dict[int, list[Op]] = {}
        for op in operators:
            for t in set(op.inputs):
                readers.setdefault(t, []).append(op)
        self.layers: list[tuple[str, Any, int, Any]] = []
        for op in operators:
            found = WEIGHTED.get(op.code)
            if found is None or len(op.inputs) <= found[0]:
                continue
            weight = op.inputs[found[0]]
            source = producers.get(weight)
            if source is not None and source.code == DEQUANTIZE:
                weight = source.inputs[0]
            if not self.has_data(weight):
                continue
            bias = op.inputs[found[2]] if len(op.inputs) > found[2] else -1
            if bias < 0 or not self.has_data(bias) or not np.any(self.array(bias)):
                bias = self.added_bias(op, readers, int(self.shape(weight)[found[1]]))
            name = self.tensors[op.outputs[0]].Name()
            self.layers.append((name.decode() if isinstance(name, bytes) else str(name),
                                weight, found[1], bias if bias >= 0 and self.has_data(bias)
                                else None))

    def added_bias(self, op: Op, readers: dict[int, list[Op]], channels: int) -> int:
        """The constant an ADD after `op` adds per channel (a bias the converter kept apart).

        Followed past reshapes and squeezes that are the value's only reader; -1 if none.
        """
        value = op.outputs[0]
        while len(readers.get(value, ())) == 1:
            reader = readers[value][0]
            if reader.code in RESHAPES:
                value = reader.outputs[0]
                continue
            if reader.code != ADD:
                break
            constant = [t for t in reader.inputs if t != value and self.has_data(t)]
            if len(constant) == 1 and int(np.prod(self.shape(constant[0]))) == channels:
                return int(constant[0])
            break
        return -1

    def shape(self, tensor: int) -> tuple[int, ...]:
        """A tensor's stored shape."""
        return indices(self.tensors[tensor].ShapeAsNumpy())

    def stored(self, tensor: int) -> np.ndarray:
        """The bytes of a tensor's buffer, as a view into the file (empty if it has none).

        A buffer is in the flatbuffer, or (files over 2 GB) after it at its offset.
        """
        buffer = self.model.Buffers(self.tensors[tensor].Buffer())
        data = buffer.DataAsNumpy()
        if not isinstance(data, int):
            return np.asarray(data)
        if buffer.Offset() > 1:
            return np.frombuffer(self.data, np.uint8, buffer.Size(), buffer.Offset())
        return np.zeros(0, np.uint8)

    def has_data(self, tensor: int) -> bool:
        """Whether a tensor is a constant with its data in the file."""
        return self.stored(tensor).size > 0

    def array(self, tensor: Any) -> np.ndarray:
        """A constant tensor's values (a writable copy)."""
        dtype = DTYPES[self.tensors[tensor].Type()]
        return np.frombuffer(self.stored(tensor).tobytes(), dtype).reshape(
            self.shape(tensor)).copy()

    def write(self, tensor: Any, values: np.ndarray) -> None:
        """Replace a constant tensor's values (the same type and size: in place)."""
        view = self.stored(tensor)
        data = np.frombuffer(values.astype(DTYPES[self.tensors[tensor].Type()]).tobytes(),
                             np.uint8)
        if data.size != view.size:
            raise ValueError(f"tensor {tensor}: {data.size} bytes for a buffer of {view.size}")
        view[:] = data

    def scale_view(self, tensor: int) -> np.ndarray | None:
        """A quantised tensor's scales (one per channel, or one) as a view into the file."""
        quantization = self.tensors[tensor].Quantization()
        scale = None if quantization is None else quantization.ScaleAsNumpy()
        return None if scale is None or isinstance(scale, int) or scale.size == 0 else scale

    def scales(self, tensor: int) -> np.ndarray | None:
        """A quantised tensor's scales (one per channel, or one), else None."""
        view = self.scale_view(tensor)
        return None if view is None else view.astype(np.float64)

    def weighted(self) -> list[Weighted]:
        """Its weighted layers in execution order."""
        found = []
        for name, weight, axis, bias in self.layers:
            values = self.array(weight).astype(np.float64)
            scales = self.scales(weight)
            if scales is not None and self.tensors[weight].Type() == 9:
                shape = [1] * values.ndim
                shape[axis] = -1 if scales.size > 1 else 1
                values = values * scales.reshape(shape)
            norms = np.sqrt((np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1) ** 2)
                            .sum(axis=1))
            has_bias = bias is not None and bool(np.any(self.array(bias) != 0))
            found.append(Weighted(name, norms, has_bias))
        return found

    def scale(self, layer: int, factor: float, channel: int | None = None) -> None:
        """Scale a layer's weights (one output channel's, or all)."""
        _, weight, _, _ = self.layers[layer]
        view = self.scale_view(weight)
        if view is not None and self.tensors[weight].Type() == 9 and (
                channel is None or view.size > 1):
            index = slice(None) if channel is None else channel
            view[index] = (view[index].astype(np.float64) * factor).astype(np.float32)
            return
        self.scale_values(layer, factor, channel)

    def save(self, path: Path) -> None:
        """Write the edited file."""
        Path(path).write_bytes(bytes(self.data))
