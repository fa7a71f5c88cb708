"""tf2onnx handler: each recurrent marker (`layers.recurrent_onnx`) -> one ONNX GRU/RNN/LSTM.

The marker (CudnnRNNV3 named `converter_rnn_<k>`) reads the batch-major sequence; its
outputs are the sequence (B, T, directions x H), the last hidden state and (LSTM) the last
cell state, each (directions, B, H). The node in its place reads the sequence time-major
(onnxruntime runs only layout 0: one Transpose in) with the layer's weights as constants,
zero initial states by default, and writes Y (T, directions, B, H), laid out as
(B, T, directions x H) by one Transpose and a Reshape, Y_h and Y_c.
"""

from __future__ import annotations

import re
from typing import Any

from converter.layers.recurrent_onnx import PREFIX, SPECS

TOKEN = re.compile(rf"{PREFIX}\d+(?!\d)")


def recurrent_node(ctx: Any, node: Any, name: str, args: Any) -> None:
    """Replace one marker node of tf2onnx's graph `ctx` (a custom op handler)."""
    import numpy as np
    from tf2onnx import utils

    found = TOKEN.search(node.name)
    if found is None or found.group(0) not in SPECS:
        raise ValueError(f"{node.name} is not a recurrent layer converter marked")
    spec = SPECS[found.group(0)]
    sequence, outputs = node.input[0], list(node.output)
    constants = [ctx.make_const(utils.make_name(f"{node.name}_{part}"), value).output[0]
                 for part, value in (("W", spec.w), ("R", spec.r), ("B", spec.b))]
    y, y_h, y_c = (utils.make_name(f"{node.name}_{part}") for part in ("Y", "Y_h", "Y_c"))
    written = [y, y_h, y_c] if spec.op == "LSTM" else [y, y_h]
    ctx.remove_node(node.name)
    steps_first = ctx.make_node("Transpose", [sequence], attr={"perm": [1, 0, 2]})
    ctx.make_node(spec.op, [steps_first.output[0], *constants], outputs=written,
                  attr=spec.attributes, op_name_scope=node.name)
    batch_first = ctx.make_node("Transpose", [y], attr={"perm": [2, 0, 1, 3]})  # (B, T, D, H)
    shape = ctx.make_const(utils.make_name(f"{node.name}_shape"),
                           np.array([0, 0, -1], np.int64)).output[0]
    ctx.make_node("Reshape", [batch_first.output[0], shape], outputs=[outputs[0]])
    ctx.make_node("Identity", [y_h], outputs=[outputs[1]])
    ctx.make_node("Identity", [written[-1]], outputs=[outputs[2]])
