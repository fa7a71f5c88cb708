"""An LSTM layer marked for TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM, at any length.

The TFLite converter fuses only tf.keras's own LSTM function, and only at a static batch.
Here the export class writes the layer as one TensorFlow BlockLSTMV2 op (the same gates
and gate order, IFCO, as Keras; it computes the layer's numbers in TensorFlow too), which
the converter keeps as a custom op; `export.fused_lstm` then rewrites each such op into the
fused builtin, at any batch and length, static or dynamic, with its state re-initialised on
every invocation. A layer the fused kernel cannot compute exactly (`unfused_reason`) runs as
the export loop instead, and the artifact's `lowerings` say which layer and why.

`fusion(precision)` names the file being traced. Full int8 loops: it calibrates by running
the float graph, and LiteRT has no kernel for the marker. An fp16 file at a dynamic batch
loops too: LiteRT keeps the float16 weights' dequantized copies in the arena that holds the
fused op's state tensors, and a call that changes the batch resizes those and moves the
copies without their data (measured with LiteRT 2.3: the outputs after such a call are NaN
or wrong; fp32 and int8-dynamic files, which have no such copies, give the same numbers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

MARKER = "BlockLSTMV2"
PRECISION: ContextVar[str] = ContextVar("converter_fused_lstm_precision", default="fp32")
WHY_NOT = "tflite_lowering"  # the attribute a layer keeps its loop reason in, for the report


@contextlib.contextmanager
def fusion(precision: str) -> Iterator[None]:
    """Within the block, LSTM layers are traced for a TFLite file of this precision."""
    token = PRECISION.set(precision)
    try:
        yield
    finally:
        PRECISION.reset(token)


def unfused_reason(layer: Any, sequences: Any, mask: Any, initial_state: Any) -> str | None:
    """Why the fused op cannot compute this LSTM layer in this file; None when it can."""
    import keras

    cell = layer.cell
    checks = (
        (type(cell) is not keras.layers.LSTMCell, f"its cell is a {type(cell).__name__}"),
        (cell.recurrent_activation is not keras.activations.sigmoid,
         f"recurrent_activation {name_of(cell.recurrent_activation)}: the fused kernel's "
         f"gates are sigmoid"),
        (cell.activation is not keras.activations.tanh,
         f"activation {name_of(cell.activation)}: the fused kernel's cell activation here "
         f"is tanh"),
        (mask is not None, "a mask reaches it (the fused kernel has no per-step mask)"),
        (initial_state is not None, "it is given an initial state"),
        (layer.return_state, "return_state: the fused op does not output its cell state"),
        (PRECISION.get() == "int8", "full int8 quantises the loop (the fused op's integer "
                                    "kernel needs gate scales calibration does not record)"),
        (PRECISION.get() == "fp16" and sequences.shape[0] is None,
         "an fp16 file at a dynamic batch (LiteRT loses the float16 weights' dequantized "
         "copies when a call resizes the fused op's state; --static-shape fuses it)"),
    )
    return next((why for failed, why in checks if failed), None)


def name_of(function: Any) -> str:
    """An activation function's name, as a config would spell it."""
    return str(getattr(function, "__name__", function))


def fused_lstm(layer: Any, sequences: Any) -> Any:
    """The layer's output through one BlockLSTMV2 op (see the module docstring)."""
    import tensorflow as tf

    cell = layer.cell
    units = int(cell.units)
    kernel = tf.concat([cell.kernel, cell.recurrent_kernel], axis=0)
    bias = cell.bias if cell.use_bias else tf.zeros([4 * units], sequences.dtype)
    ordered = tf.reverse(sequences, [1]) if layer.go_backwards else sequences
    timeline = tf.transpose(ordered, (1, 0, 2))
    zero = tf.tile(tf.zeros_like(ordered[:, 0, :1]), [1, units])
    peephole = tf.zeros([units], sequences.dtype)
    gates = tf.raw_ops.BlockLSTMV2(
        seq_len_max=tf.cast(tf.shape(timeline)[0], tf.int64), x=timeline, cs_prev=zero,
        h_prev=zero, w=kernel, wci=peephole, wcf=peephole, wco=peephole, b=bias,
        cell_clip=0.0, use_peephole=False)  # a clip of 0 is none
    outputs = tf.transpose(gates[6], (1, 0, 2))
    return outputs if layer.return_sequences else outputs[:, -1]


def recurrent_lowerings(model: Any) -> tuple[str, ...]:
    """The report's lines for the LSTM layers the last trace left as loops, and why.

    Each trace records its reasons on the layers; they are cleared here, so the next
    precision's trace starts from none.
    """
    notes = []
    for layer in layers_of(model):
        why = layer.__dict__.pop(WHY_NOT, None)
        if why is not None:
            notes.append(f"{layer.name}: a WHILE loop, not the fused "
                         f"UNIDIRECTIONAL_SEQUENCE_LSTM: {why}")
    return tuple(sorted(notes))


def layers_of(model: Any) -> list[Any]:
    """A built model's layers and each Bidirectional's two (a SavedModel signature: none)."""
    found = []
    for layer in getattr(model, "layers", ()):
        found.append(layer)
        found += [getattr(layer, key) for key in ("forward_layer", "backward_layer")
                  if getattr(layer, key, None) is not None]
    return found
