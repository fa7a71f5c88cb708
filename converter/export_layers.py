"""Keras 3 layers that compute the same numbers as the stock ones, traced without shape ops.

The stock TensorFlow lowering of some layers computes shapes at run time: a dilated Conv1D
goes through SPACE_TO_BATCH_ND with SHAPE/STRIDED_SLICE chains (about 20 TFLite ops per
layer at a dynamic length), Flatten and Reshape read the batch size with SHAPE, a transposed
conv builds its output shape from SHAPE, and recurrent layers build their zero state from
it (a transposed conv keeps its SHAPE: the zero-interleave rewrite that avoids it would
multiply the conv's work by the stride). LiteRT's GPU accelerator refuses any graph with
such run-time shapes, and they cost time on every runtime. These subclasses emit the same
arithmetic with static shapes:
- Conv1D with dilation: one Conv2D with its dilation factor (one CONV_2D / Conv);
- Flatten / Reshape: a reshape to (-1, ...) when the other axes are static;
- LSTM / GRU / SimpleRNN: the zero initial state tiled from the input, not sized by SHAPE.
`build` uses them for every model; parity against the original proves the numbers.
"""

from __future__ import annotations

import math
from typing import Any

from converter.artifacts import ModelGraph


def export_classes(target: str = "tflite") -> dict[str, Any]:
    """{Keras class name: export-friendly subclass} for a target ("tflite" or "onnx").

    For ONNX a dilated "same" convolution pads explicitly: tf2onnx would write
    auto_pad=SAME_UPPER, which onnxruntime refuses together with dilations.
    """
    import keras
    import tensorflow as tf

    class Conv1D(keras.layers.Conv1D):
        """Dilated Conv1D as one dilated Conv2D."""

        def call(self, inputs: Any) -> Any:
            dilation = self.dilation_rate[0]
            if dilation == 1 or self.groups != 1 or self.data_format != "channels_last":
                return super().call(inputs)
            padding = "SAME" if self.padding == "same" else "VALID"
            if self.padding == "causal":
                inputs = keras.ops.pad(inputs, self._compute_causal_padding())
            elif self.padding == "same" and target == "onnx" and self.strides[0] == 1:
                total = (self.kernel_size[0] - 1) * dilation
                inputs = keras.ops.pad(inputs, [[0, 0], [total // 2, total - total // 2], [0, 0]])
                padding = "VALID"
            outputs = tf.squeeze(tf.nn.conv2d(
                tf.expand_dims(inputs, 1), tf.expand_dims(self.kernel, 0),
                strides=[1, 1, self.strides[0], 1], padding=padding,
                dilations=[1, 1, dilation, 1]), 1)
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    class Flatten(keras.layers.Flatten):
        """Flatten to (-1, n) when every non-batch axis is static."""

        def call(self, inputs: Any) -> Any:
            rest = inputs.shape[1:]
            if self.data_format == "channels_first" or any(d is None for d in rest):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, math.prod(rest)))

    class Reshape(keras.layers.Reshape):
        """Reshape to (-1, *target) when the target has no unknown axis."""

        def call(self, inputs: Any) -> Any:
            if any(d is None or d == -1 for d in self.target_shape):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, *self.target_shape))

    def zero_state(base: Any) -> Any:
        """A recurrent class whose zero initial state is tiled from the input."""

        class Recurrent(base):  # type: ignore[misc, valid-type]
            def call(self, sequences: Any, initial_state: Any = None, mask: Any = None,
                     training: bool = False) -> Any:
                if initial_state is None and not self.stateful:
                    zero = tf.zeros_like(sequences[:, 0, :1])
                    sizes = self.cell.state_size
                    sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
                    initial_state = [tf.tile(zero, [1, int(n)]) for n in sizes]
                return super().call(sequences, initial_state=initial_state, mask=mask,
                                    training=training)

        Recurrent.__name__ = base.__name__
        return Recurrent

    return {"Conv1D": Conv1D, "Flatten": Flatten, "Reshape": Reshape,
            "LSTM": zero_state(keras.layers.LSTM),
            "GRU": zero_state(keras.layers.GRU), "SimpleRNN": zero_state(keras.layers.SimpleRNN)}


def target_specific(graph: ModelGraph) -> bool:
    """Whether `export_classes` differ by target for this graph (a dilated "same" Conv1D)."""
    return any(
        layer.class_name == "Conv1D" and layer.config.get("padding") == "same"
        and max(layer.config.get("dilation_rate") or (1,)) > 1
        for layer in graph.layers
    )
