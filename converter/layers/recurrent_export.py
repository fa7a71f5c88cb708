"""Export forms of the recurrent family (see `recurrent`), built on demand.

A recurrent layer's zero initial state is tiled from the input instead of sized by SHAPE
(which LiteRT's GPU accelerator refuses), and at a dynamic length for TFLite it runs its own
while loop: Keras's loop stores steps in TensorLists whose element shape holds the dynamic
batch, which TFLite builtins refuse; this loop carries the state in loop variables instead.
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
    import tensorflow as tf

    class Recurrent(base):  # type: ignore[misc]
        def call(self, sequences: Any, initial_state: Any = None, mask: Any = None,
                 training: bool = False) -> Any:
            if initial_state is None and not self.stateful:
                zero = tf.zeros_like(sequences[:, 0, :1])
                sizes = self.cell.state_size
                sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
                # One tile per distinct size: LSTM's equal h and c zeros are one tensor.
                tiles = {n: tf.tile(zero, [1, n]) for n in dict.fromkeys(map(int, sizes))}
                initial_state = [tiles[int(n)] for n in sizes]
            if (target == "tflite" and sequences.shape[1] is None and mask is None
                    and not self.stateful and not self.unroll):
                return while_loop(self, sequences, list(initial_state))
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)

    Recurrent.__name__ = base.__name__
    return Recurrent


def while_loop(layer: Any, sequences: Any, states: list[Any]) -> Any:
    """A recurrent layer's recurrence as a tf.while_loop over the dynamic time axis.

    Each step's output is written in place into a time-major buffer (SCATTER_ND-style
    update): an output grown by concatenation changes shape every step, and XNNPACK then
    computes wrong numbers.
    """
    import tensorflow as tf

    steps = tf.shape(sequences)[1]
    units = int(layer.cell.output_size)
    timeline = tf.transpose(sequences[:, :, :1], (1, 0, 2))
    buffer = tf.tile(tf.zeros_like(timeline), [1, 1, units])
    last = tf.tile(tf.zeros_like(sequences[:, 0, :1]), [1, units])

    def body(t: Any, outputs: Any, final: Any, *carried: Any) -> Any:
        index = steps - 1 - t if layer.go_backwards else t
        output, new = layer.cell.call(tf.gather(sequences, index, axis=1), list(carried),
                                      training=False)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        if layer.return_sequences:
            outputs = tf.tensor_scatter_nd_update(outputs, tf.reshape(t, (1, 1)), output[None])
        return (t + 1, outputs, output, *new)

    _, outputs, final, *states_out = tf.while_loop(
        lambda t, *_: t < steps, body, (tf.constant(0), buffer, last, *states))
    result = tf.transpose(outputs, (1, 0, 2)) if layer.return_sequences else final
    return [result, *states_out] if layer.return_state else result


def export_bidirectional(recurrent: tuple[str, ...]) -> Callable[[str], Any]:
    """For the recurrent class names: target -> a Bidirectional building their export classes.

    Keras's own Bidirectional would build its own inner classes.
    """

    def for_target(target: str) -> Any:
        return bidirectional_class(
            {name: export_recurrent(name)(target) for name in recurrent})

    return for_target


def bidirectional_class(inner_classes: dict[str, Any]) -> Any:
    """Bidirectional building its inner layers with `inner_classes`."""
    import keras

    class Bidirectional(keras.layers.Bidirectional):  # type: ignore[misc]
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
