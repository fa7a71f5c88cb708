"""Edit a .tflite file's weights for a planted defect (see `defects`), through its schema.

Weighted ops are CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV; where
the op's own bias is zero or absent, a per-channel constant an ADD right after it adds (past
reshapes) is its bias, as the TFLite converter leaves a conv's bias that a Squeeze
separates from it. A weight
stored as float16 behind a DEQUANTIZE is edited at its source; an int8 weight with a scale
per output channel has that scale changed (exactly the dequantised change), one with a
single scale has its integers rounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from converter.export.flatbuffer import packed, unpacked
from converter.parity.editable import Weighted, WeightFile

# opcode -> (weight input, output-channel axis of the weight, bias input)
WEIGHTED = {3: (1, 0, 2), 4: (1, 3, 2), 9: (1, 0, 2), 67: (1, 0, 3)}
DEQUANTIZE = 6
ADD = 0
RESHAPES = {22, 43, 70}  # RESHAPE, SQUEEZE, EXPAND_DIMS
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 9: np.int8, 3: np.uint8, 4: np.int64}


class TfliteEditable(WeightFile):
    """A .tflite file opened for editing its weight buffers."""

    def __init__(self, path: Path) -> None:
        self.model = unpacked(Path(path).read_bytes())
        graph = self.model.subgraphs[0]
        self.tensors = graph.tensors
        producers = {t: op for op in graph.operators for t in op.outputs}
        readers: dict[int, list[Any]] = {}
        for op in graph.operators:
            for t in set(op.inputs):
                readers.setdefault(int(t), []).append(op)
        self.layers: list[tuple[str, Any, int, Any]] = []
        for op in graph.operators:
            code = self.model.operatorCodes[op.opcodeIndex]
            found = WEIGHTED.get(max(code.builtinCode, code.deprecatedBuiltinCode))
            if found is None or len(op.inputs) <= found[0]:
                continue
            weight = op.inputs[found[0]]
            source = producers.get(weight)
            if source is not None and self.opcode(source) == DEQUANTIZE:
                weight = source.inputs[0]
            if not self.has_data(weight):
                continue
            bias = op.inputs[found[2]] if len(op.inputs) > found[2] else -1
            if bias < 0 or not self.has_data(bias) or not np.any(self.array(bias)):
                bias = self.added_bias(op, readers, self.tensors[weight].shape[found[1]])
            name = self.tensors[op.outputs[0]].name
            self.layers.append((name.decode() if isinstance(name, bytes) else str(name),
                                weight, found[1], bias if bias >= 0 and self.has_data(bias)
                                else None))

    def added_bias(self, op: Any, readers: dict[int, list[Any]], channels: int) -> int:
        """The constant an ADD after `op` adds per channel (a bias the converter kept apart).

        Followed past reshapes and squeezes that are the value's only reader; -1 if none.
        """
        value = op.outputs[0]
        while len(readers.get(value, ())) == 1:
            reader = readers[value][0]
            if self.opcode(reader) in RESHAPES:
                value = reader.outputs[0]
                continue
            if self.opcode(reader) != ADD:
                break
            constant = [t for t in reader.inputs if t != value and self.has_data(t)]
            if len(constant) == 1 and int(np.prod(self.tensors[constant[0]].shape)) == channels:
                return int(constant[0])
            break
        return -1

    def opcode(self, op: Any) -> int:
        """An operator's builtin code."""
        code = self.model.operatorCodes[op.opcodeIndex]
        return int(max(code.builtinCode, code.deprecatedBuiltinCode))

    def has_data(self, tensor: int) -> bool:
        """Whether a tensor is a constant with its data in the file."""
        data = self.model.buffers[self.tensors[tensor].buffer].data
        return data is not None and len(data) > 0

    def array(self, tensor: Any) -> np.ndarray:
        """A constant tensor's values (a writable copy)."""
        entry = self.tensors[tensor]
        data = bytes(np.asarray(self.model.buffers[entry.buffer].data, np.uint8))
        return np.frombuffer(data, DTYPES[entry.type]).reshape(entry.shape).copy()

    def write(self, tensor: Any, values: np.ndarray) -> None:
        """Replace a constant tensor's values."""
        buffer = self.model.buffers[self.tensors[tensor].buffer]
        buffer.data = np.frombuffer(values.tobytes(), np.uint8)

    def scales(self, tensor: int) -> np.ndarray | None:
        """A quantised tensor's scales (one per channel, or one), else None."""
        quantization = self.tensors[tensor].quantization
        scale = None if quantization is None else quantization.scale
        return None if scale is None or len(scale) == 0 else np.asarray(scale, np.float64)

    def weighted(self) -> list[Weighted]:
        """Its weighted layers in execution order."""
        found = []
        for name, weight, axis, bias in self.layers:
            values = self.array(weight).astype(np.float64)
            scales = self.scales(weight)
            if scales is not None and self.tensors[weight].type == 9:
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
        _, weight, axis, _ = self.layers[layer]
        scales = self.scales(weight)
        quantization = self.tensors[weight].quantization
        if scales is not None and self.tensors[weight].type == 9 and (
                channel is None or scales.size > 1):
            scales[slice(None) if channel is None else channel] *= factor
            quantization.scale = scales.astype(np.float32)
            return
        self.scale_values(layer, factor, channel)

    def save(self, path: Path) -> None:
        """Write the edited flatbuffer."""
        Path(path).write_bytes(packed(self.model))
