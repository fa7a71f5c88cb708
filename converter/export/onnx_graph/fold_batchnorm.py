"""Pass: a BatchNormalization right after a Conv -> the Conv's weights and bias.

Given: a Conv1D followed by BatchNormalization (SpliceAI's residual units, 16 of them) is
a Conv node and a BatchNormalization node: the BN is a per-channel scale and shift of the
conv's output, which onnxruntime fuses when it loads the file and other runtimes may not.
Result: the Conv's kernel scaled per output channel by scale / sqrt(var + epsilon), its bias
shifted to match, and the BN node gone; readers of the BN read the Conv, which keeps its own
name (localisation attributes the fused node to the conv, as TFLite's fusion does).
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, initializer, is_op, take_over


def run(model: ir.Model) -> int:
    """Fold every foldable BatchNormalization; returns how many were folded."""
    graph, folded = model.graph, 0
    for conv in list(graph):
        if not is_op(conv, "Conv") or len(conv.inputs) < 2:
            continue
        result = conv.outputs[0]
        users = result.consumers()
        kernel = constant(conv.inputs[1])
        bias = constant(conv.inputs[2]) if len(conv.inputs) > 2 else None
        if kernel is None or result.is_graph_output() or len(users) != 1 or (
                len(conv.inputs) > 2 and bias is None):
            continue
        norm = users[0]
        params = [constant(v) for v in norm.inputs[1:5]] if len(norm.inputs) == 5 else []
        if not is_op(norm, "BatchNormalization") or len(norm.outputs) != 1 or (
                len(params) != 4 or any(p is None or p.shape != (kernel.shape[0],)
                                        for p in params)):
            continue
        scale, shift, mean, variance = (np.asarray(p, np.float64) for p in params)
        factor = scale / np.sqrt(variance + norm.attributes.get_float("epsilon", 1e-5))
        base = np.zeros(kernel.shape[0]) if bias is None else bias.astype(np.float64)
        name = conv.inputs[1].name or "conv"
        weights = kernel.astype(np.float64) * factor.reshape(-1, *[1] * (kernel.ndim - 1))
        conv.resize_inputs(3)
        conv.replace_input_with(1, initializer(graph, f"{name}_bn", weights.astype(kernel.dtype)))
        conv.replace_input_with(2, initializer(graph, f"{name}_bn_bias", (
            (base - mean) * factor + shift).astype(kernel.dtype)))
        if norm.outputs[0].is_graph_output():
            take_over(norm.outputs[0], result)
        else:
            norm.outputs[0].replace_all_uses_with(result)
        graph.remove(norm, safe=True)
        folded += 1
    return folded
