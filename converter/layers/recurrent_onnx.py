"""Recurrent layers tf2onnx cannot fuse, marked for one ONNX GRU / RNN / LSTM node each.

tf2onnx finds Keras's LSTM loop (sigmoid and tanh) and writes one LSTM node; a GRU, a
SimpleRNN and an LSTM with other gate or cell functions (Keras 1's hard_sigmoid: FactorNet)
stay Loops. For the ONNX export such a layer is traced as one marker op (CudnnRNNV3, named
`converter_rnn_<k>`; its shape function gives the outputs' shapes, nothing runs it) and the
layer's weights and functions are kept in `SPECS` under that name; `export.onnx_recurrent`
then writes the ONNX node in the marker's place (gates reordered to ONNX's, the Keras
functions as the node's `activations`, a reset_after GRU as linear_before_reset). Zero
initial states are ONNX's default. A layer whose functions ONNX has no name for, a mask in
front, or an initial state passed in keeps Keras's loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPECS: dict[str, RecurrentNode] = {}
MARKER_OP = "CudnnRNNV3"
PREFIX = "converter_rnn_"
# Keras function name -> (ONNX activation, alpha, beta); alpha/beta None where it takes none
ONNX_ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "sigmoid": ("Sigmoid", None, None), "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None), "linear": ("Affine", 1.0, 0.0),
    "keras2_hard_sigmoid": ("HardSigmoid", 0.2, 0.5),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5), "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None), "elu": ("Elu", 1.0, None),
}
# ONNX gate order from Keras's: LSTM i, f, c, o -> i, o, f, c; GRU z, r, h and RNN as they are
GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (0, 1, 2), "RNN": (0,)}


@dataclass
class RecurrentNode:
    """One ONNX recurrent node: its op, weights (ONNX layout, one direction) and attributes."""

    op: str
    w: np.ndarray
    r: np.ndarray
    b: np.ndarray
    attributes: dict[str, Any] = field(default_factory=dict)


def onnx_node(layer: Any) -> RecurrentNode | None:
    """The node for a layer tf2onnx would leave a Loop, or None (tf2onnx's own, or a loop)."""
    import keras

    cell = layer.cell
    op = {keras.layers.LSTMCell: "LSTM", keras.layers.GRUCell: "GRU",
          keras.layers.SimpleRNNCell: "RNN"}.get(type(cell))
    if op is None:
        return None
    functions = [cell.activation] if op == "RNN" else [cell.recurrent_activation,
                                                        cell.activation]
    if op == "LSTM":
        functions.append(cell.activation)
    names = [str(getattr(f, "__name__", "")) for f in functions]
    if op == "LSTM" and names == ["sigmoid", "tanh", "tanh"]:
        return None  # tf2onnx writes this one itself (a Bidirectional's as one node)
    if any(n not in ONNX_ACTIVATIONS for n in names):
        return None
    return RecurrentNode(op, *weights(cell, op), attributes(cell, op, names))


def weights(cell: Any, op: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W (1, gates x units, features), R (1, gates x units, units), B (1, 2 x gates x units)."""
    units = int(cell.units)
    order = GATE_ORDER[op]

    def gates(matrix: np.ndarray) -> np.ndarray:
        blocks = [matrix[..., k * units:(k + 1) * units] for k in order]
        return np.concatenate(blocks, axis=-1)

    kernel = gates(value(cell.kernel))
    recurrent = gates(value(cell.recurrent_kernel))
    size = len(order) * units
    if not cell.use_bias:
        bias = np.zeros(2 * size, np.float32)
    else:
        raw = value(cell.bias)
        parts = raw if raw.ndim == 2 else np.stack([raw, np.zeros_like(raw)])
        bias = np.concatenate([gates(parts[0]), gates(parts[1])])
    return kernel.T[None], recurrent.T[None], bias[None]


def value(variable: Any) -> np.ndarray:
    """A variable's value as float32, read eagerly (the layer is being traced)."""
    import tensorflow as tf

    with tf.init_scope():
        return np.asarray(variable.numpy(), np.float32)


def attributes(cell: Any, op: str, names: list[str]) -> dict[str, Any]:
    """hidden_size, the functions as `activations` (alpha/beta where they take them)."""
    mapped = [ONNX_ACTIVATIONS[n] for n in names]
    found: dict[str, Any] = {"hidden_size": int(cell.units), "direction": "forward",
                             "activations": [m[0] for m in mapped]}
    alphas = [m[1] for m in mapped if m[1] is not None]
    betas = [m[2] for m in mapped if m[2] is not None]
    if alphas:
        found["activation_alpha"] = alphas
    if betas:
        found["activation_beta"] = betas
    if op == "GRU":
        found["linear_before_reset"] = int(bool(cell.reset_after))
    return found


def marker(sequences: Any, node: RecurrentNode) -> tuple[Any, Any, Any]:
    """One marker op over batch-major `sequences`: (sequence (B, T, dirs x H), h, c).

    h and c are (directions, B, H), as ONNX's Y_h and Y_c.
    """
    import tensorflow as tf

    token = f"{PREFIX}{len(SPECS)}"
    SPECS[token] = node
    units = int(node.attributes["hidden_size"])
    both = node.attributes["direction"] == "bidirectional"
    state = tf.tile(tf.zeros_like(sequences[None, :, 0, :1]), [2 if both else 1, 1, units])
    lengths = tf.cast(tf.zeros_like(sequences[:, 0, 0]), tf.int32)
    output, h, c, _, _ = tf.raw_ops.CudnnRNNV3(
        input=sequences, input_h=state, input_c=state, params=tf.zeros([1], sequences.dtype),
        sequence_lengths=lengths, rnn_mode="lstm" if node.op == "LSTM" else "gru",
        direction="bidirectional" if both else "unidirectional", time_major=False, name=token)
    return output, h, c


def marked(layer: Any, sequences: Any, node: RecurrentNode) -> Any:
    """The layer's outputs through one marker op (see the module docstring)."""
    import tensorflow as tf

    ordered = tf.reverse(sequences, [1]) if layer.go_backwards else sequences
    sequence, h, c = marker(ordered, node)
    result = sequence if layer.return_sequences else h[0]
    states = [h[0], c[0]] if node.op == "LSTM" else [h[0]]
    return [result, *states] if layer.return_state else result


def both_directions(layer: Any) -> RecurrentNode | None:
    """One bidirectional node for a Bidirectional whose two directions would each be one."""
    forward, backward = layer.forward_layer, layer.backward_layer
    if (forward.return_state or forward.go_backwards or not backward.go_backwards
            or forward.stateful or backward.stateful or forward.unroll or backward.unroll):
        return None
    nodes = [onnx_node(forward), onnx_node(backward)]
    if (nodes[0] is None or nodes[1] is None or nodes[0].op != nodes[1].op
            or nodes[0].attributes != nodes[1].attributes):
        return None
    attributes = dict(nodes[0].attributes, direction="bidirectional")
    for key in ("activations", "activation_alpha", "activation_beta"):
        if key in attributes:
            attributes[key] = [*attributes[key], *attributes[key]]
    w, r, b = (np.concatenate([getattr(n, part) for n in nodes]) for part in ("w", "r", "b"))
    return RecurrentNode(nodes[0].op, w, r, b, attributes)


def marked_both(layer: Any, sequences: Any, node: RecurrentNode) -> Any:
    """A Bidirectional's merged outputs through one bidirectional marker.

    ONNX writes the backward direction's outputs at their input positions, which is where
    Keras's Bidirectional puts them back; its last state is the one after the first step.
    """
    import tensorflow as tf

    sequence, h, _ = marker(sequences, node)
    units = int(node.attributes["hidden_size"])
    if layer.return_sequences and layer.merge_mode == "concat":
        return sequence  # already forward then backward on the last axis
    if layer.return_sequences:
        forward, backward = sequence[..., :units], sequence[..., units:]
    else:
        forward, backward = h[0], h[1]
    merge = layer.merge_mode
    if merge == "concat":
        return tf.concat([forward, backward], axis=-1)
    if merge is None:
        return [forward, backward]
    return {"sum": lambda: forward + backward, "mul": lambda: forward * backward,
            "ave": lambda: (forward + backward) / 2}[merge]()
