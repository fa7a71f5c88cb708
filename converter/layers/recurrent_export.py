"""Export forms of the recurrent family (see `recurrent`), built on demand.

For TFLite an LSTM is TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM wherever its kernel
computes the layer exactly (`recurrent_fused`, `export.fused_lstm`: the stock converter's
fused op keeps the last call's final state in variable tensors and needs a static batch;
converter's starts from the layer's state on every call, at any batch). The other layers,
and an LSTM the kernel cannot compute, run the export loop. For ONNX a layer tf2onnx would
leave a Loop (GRU, SimpleRNN, an LSTM with other functions) is one node (`recurrent_onnx`).

A recurrent layer's zero initial state is tiled from the input instead of sized by SHAPE
(which LiteRT's GPU accelerator refuses), and for TFLite the loop runs at any length:
Keras's loop stores steps in TensorLists whose element shape holds the dynamic batch,
which TFLite builtins refuse; this loop carries the state in loop variables instead and
writes each step's output in place (DYNAMIC_UPDATE_SLICE), so a step costs the same at step
10,000 as at step 1. A layer whose config says `unroll` (`--unroll-recurrent`) is unrolled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def export_recurrent(name: str) -> Callable[[str], Any]:
    """For a Keras recurrent class name: target -> its export-friendly subclass."""

    def for_target(target: str) -> Any:
        import keras

        return recurrent_class(getattr(keras.layers, name), target)

    return for_target


def recurrent_class(base: Any, target: str) -> Any:
    """A recurrent class whose zero state is tiled from the input (see the module)."""
    import keras
    import tensorflow as tf

    from converter.layers.recurrent_fused import WHY_NOT, fused_lstm, unfused_reason
    from converter.layers.recurrent_onnx import marked, onnx_node

    class Recurrent(base):  # type: ignore[misc]
        def call(self, sequences: Any, initial_state: Any = None, mask: Any = None,
                 training: bool = False) -> Any:
            given = initial_state
            if initial_state is None and not self.stateful:
                zero = tf.zeros_like(sequences[:, 0, :1])
                sizes = self.cell.state_size
                sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
                # One tile per distinct size: LSTM's equal h and c zeros are one tensor.
                tiles = {n: tf.tile(zero, [1, n]) for n in dict.fromkeys(map(int, sizes))}
                initial_state = [tiles[int(n)] for n in sizes]
            plain = not self.stateful and not self.unroll and mask is None and given is None
            node = onnx_node(self) if target == "onnx" and plain else None
            if node is not None:
                return marked(self, sequences, node)
            if target == "tflite" and not self.stateful and not self.unroll:
                if isinstance(self, keras.layers.LSTM):
                    why = unfused_reason(self, sequences, mask, given)
                    if why is None:
                        return fused_lstm(self, sequences)
                    setattr(self, WHY_NOT, why)
                return while_loop(self, sequences, list(initial_state), mask)
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)

    Recurrent.__name__ = base.__name__
    return Recurrent


def while_loop(layer: Any, sequences: Any, states: list[Any], mask: Any = None) -> Any:
    """A recurrent layer's recurrence as a tf.while_loop over the time axis.

    The input product of every step is made before the loop (`recurrent_steps`). Each step
    reads its slice of the projection and writes its output into the sequence's buffer at
    its index (XLA's DynamicUpdateSlice, TFLite's DYNAMIC_UPDATE_SLICE), both batch-major,
    so no transpose surrounds the loop: an output grown by concatenation changes shape
    every step (XNNPACK then computes wrong numbers), and a scatter into the whole buffer
    costs a pass over it every step. Where a mask (Masking in front) clears a step, the
    state is carried over and the output is the previous one, or zeros with
    `zero_output_for_mask`, as Keras's own loop does.
    """
    import tensorflow as tf
    from tensorflow.compiler.tf2xla.python import xla

    from converter.layers.recurrent_steps import projection

    steps = tf.shape(sequences)[1]
    units = int(layer.cell.output_size)
    known = projection(layer.cell)
    if known is not None:
        kernel, bias, step = known
        projected = tf.matmul(sequences, kernel)
        sequences = projected if bias is None else projected + bias
    # as float: TFLite's STRIDED_SLICE takes no bool tensor
    keep = None if mask is None else tf.expand_dims(tf.cast(mask, sequences.dtype), 2)
    last = tf.tile(tf.zeros_like(sequences[:, 0, :1]), [1, units])
    # the whole sequence's buffer only where the layer returns it
    buffer = (tf.tile(tf.zeros_like(sequences[:, :, :1]), [1, 1, units])
              if layer.return_sequences else last)
    zero = tf.constant(0, tf.int32)

    def body(t: Any, outputs: Any, final: Any, *carried: Any) -> Any:
        index = steps - 1 - t if layer.go_backwards else t
        current = tf.gather(sequences, index, axis=1)  # one GATHER, no begin/end to pack
        if known is not None:
            output, new = step(layer.cell, current, list(carried))
        else:
            output, new = layer.cell.call(current, list(carried), training=False)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
        if keep is not None:
            kept = keep[:, index] > 0
            cleared = tf.zeros_like(output) if layer.zero_output_for_mask else final
            output = tf.where(kept, output, cleared)
            new = [tf.where(kept, n, c) for n, c in zip(new, carried, strict=True)]
        if layer.return_sequences:
            outputs = xla.dynamic_update_slice(outputs, tf.expand_dims(output, 1),
                                               tf.stack([zero, t, zero]))
        return (t + 1, outputs, output, *new)

    _, outputs, final, *states_out = tf.while_loop(
        lambda t, *_: t < steps, body, (zero, buffer, last, *states))
    result = outputs if layer.return_sequences else final
    return [result, *states_out] if layer.return_state else result


def export_bidirectional(recurrent: tuple[str, ...]) -> Callable[[str], Any]:
    """For the recurrent class names: target -> a Bidirectional building their export classes.

    Keras's own Bidirectional would build its own inner classes.
    """

    def for_target(target: str) -> Any:
        return bidirectional_class(
            {name: export_recurrent(name)(target) for name in recurrent}, target)

    return for_target


def bidirectional_class(inner_classes: dict[str, Any], target: str = "tflite") -> Any:
    """Bidirectional building its inner layers with `inner_classes`.

    For ONNX, directions tf2onnx would leave Loops are one bidirectional node
    (`recurrent_onnx.both_directions`).
    """
    import keras

    from converter.layers.recurrent_onnx import both_directions, marked_both

    class Bidirectional(keras.layers.Bidirectional):  # type: ignore[misc]
        def call(self, sequences: Any, initial_state: Any = None, mask: Any = None,
                 training: Any = None) -> Any:
            node = (both_directions(self) if target == "onnx" and initial_state is None
                    and mask is None else None)
            if node is not None:
                return marked_both(self, sequences, node)
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)

        @classmethod
        def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
            config = dict(config)
            for key in ("layer", "backward_layer"):
                inner = config.get(key)
                if isinstance(inner, dict) and inner.get("class_name") in inner_classes:
                    config[key] = inner_classes[inner["class_name"]].from_config(
                        inner["config"])
            return cls(**config)

    return Bidirectional
