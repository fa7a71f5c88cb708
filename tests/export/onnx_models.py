"""Hand-written ONNX models for the pass tests: nodes and initializers in, a ModelProto out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Shape = Sequence[int | str] | None


def float_model(nodes: list[onnx.NodeProto], inits: dict[str, np.ndarray],
                inputs: dict[str, Shape], outputs: dict[str, Shape],
                opset: int = 17) -> onnx.ModelProto:
    """A float32 graph named after its first output, at `opset`."""
    graph = helper.make_graph(
        nodes, next(iter(outputs)),
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
