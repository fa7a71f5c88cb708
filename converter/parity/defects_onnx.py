"""Edit an .onnx file's weights for a planted defect (see `defects`), through onnx itself.

Weighted nodes are Conv, ConvTranspose, Gemm and MatMul with an initializer as weight, and
LSTM / GRU / RNN. A MatMul's bias is the initializer an Add right after it adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from converter.parity.editable import Weighted, WeightFile

# op type -> (weight input, output-channel axis of the weight, bias input or None)
WEIGHTED: dict[str, tuple[int, int, int | None]] = {
    "Conv": (1, 0, 2), "ConvTranspose": (1, 1, 2), "MatMul": (1, -1, None),
    "LSTM": (1, 1, 3), "GRU": (1, 1, 3), "RNN": (1, 1, 3),
}


class OnnxEditable(WeightFile):
    """An .onnx file opened for editing its initializers."""

    def __init__(self, path: Path) -> None:
        import onnx

        self.model = onnx.load(str(path))
        graph = self.model.graph
        self.initializers = {i.name: i for i in graph.initializer}
        readers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                readers.setdefault(name, []).append(node)
        self.layers: list[tuple[str, Any, int, Any]] = []
        for node in graph.node:
            found = self.weight_of(node)
            if found is None:
                continue
            weight, axis, bias = found
            if bias is None and node.op_type == "MatMul":
                bias = self.added_bias(readers.get(node.output[0], []))
            self.layers.append((node.name or node.output[0], weight, axis, bias))

    def weight_of(self, node: Any) -> tuple[str, int, str | None] | None:
        """(weight initializer, output-channel axis, bias initializer) of a weighted node."""
        if node.op_type == "Gemm":
            trans = any(a.name == "transB" and a.i for a in node.attribute)
            spec: tuple[int, int, int | None] | None = (1, 0 if trans else 1, 2)
        else:
            spec = WEIGHTED.get(node.op_type)
        if spec is None or len(node.input) <= spec[0] or (
                node.input[spec[0]] not in self.initializers):
            return None
        bias_input = spec[2]
        bias = node.input[bias_input] if bias_input is not None and len(node.input) > bias_input \
            else None
        return node.input[spec[0]], spec[1], bias if bias in self.initializers else None

    def added_bias(self, readers: list[Any]) -> str | None:
        """The initializer an Add right after a MatMul adds, if that is its only reader."""
        if len(readers) != 1 or readers[0].op_type != "Add":
            return None
        return next((name for name in readers[0].input if name in self.initializers), None)

    def array(self, name: str) -> np.ndarray:
        """An initializer's values (a writable copy)."""
        from onnx import numpy_helper

        return np.array(numpy_helper.to_array(self.initializers[name]))

    def write(self, name: str, values: np.ndarray) -> None:
        """Replace an initializer's values."""
        from onnx import numpy_helper

        self.initializers[name].CopyFrom(numpy_helper.from_array(values, name))

    def weighted(self) -> list[Weighted]:
        """Its weighted layers in graph order."""
        found = []
        for name, weight, axis, bias in self.layers:
            values = self.array(weight).astype(np.float64)
            rows = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
            has_bias = bias is not None and bool(np.any(self.array(bias) != 0))
            found.append(Weighted(name, np.sqrt((rows ** 2).sum(axis=1)), has_bias))
        return found

    def scale(self, layer: int, factor: float, channel: int | None = None) -> None:
        """Scale a layer's weights (one output channel's, or all)."""
        self.scale_values(layer, factor, channel)

    def save(self, path: Path) -> None:
        """Write the edited model."""
        import onnx

        onnx.save(self.model, str(path))
