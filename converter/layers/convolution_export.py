"""The export forms of the convolution family (see `convolution`), built on demand.

Each function returns a Keras 3 subclass for one target; TensorFlow and Keras are imported
only when `build` asks, so the catalogue stays free of them.
"""

from __future__ import annotations

from typing import Any

from converter.layers.polyphase import polyphase_plan


def export_conv1d(target: str) -> Any:
    """Conv1D whose dilated or causal form is one Conv2D on the length axis."""
    import keras
    import tensorflow as tf

    class Conv1D(keras.layers.Conv1D):  # type: ignore[misc]
        """Dilated or causal Conv1D as one Conv2D on the length axis.

        For TFLite a causal conv pads after the expansion to 4-D: a 3-D PAD of a dynamic
        length in front of EXPAND_DIMS is what LiteRT's GPU accelerator (on Mesa) computes
        wrong, while a 4-D PAD feeding CONV_2D it runs.
        """

        def call(self, inputs: Any) -> Any:
            dilation, causal = self.dilation_rate[0], self.padding == "causal"
            if (dilation == 1 and not causal) or self.groups != 1 or (
                    self.data_format != "channels_last"):
                return super().call(inputs)
            padding = "SAME" if self.padding == "same" else "VALID"
            if causal and target == "onnx":
                inputs = keras.ops.pad(inputs, self._compute_causal_padding())
            elif self.padding == "same" and target == "onnx" and self.strides[0] == 1:
                total = (self.kernel_size[0] - 1) * dilation
                inputs = keras.ops.pad(inputs, [[0, 0], [total // 2, total - total // 2], [0, 0]])
                padding = "VALID"
            expanded = tf.expand_dims(inputs, 1)
            if causal and target == "tflite":
                left = (self.kernel_size[0] - 1) * dilation
                expanded = tf.pad(expanded, [[0, 0], [0, 0], [left, 0], [0, 0]])
            outputs = tf.squeeze(tf.nn.conv2d(
                expanded, tf.expand_dims(self.kernel, 0),
                strides=[1, 1, self.strides[0], 1], padding=padding,
                dilations=[1, 1, dilation, 1]), 1)
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    return Conv1D


def export_conv1d_transpose(target: str) -> Any:
    """Conv1DTranspose that at a static length is its polyphase conv."""
    import keras
    import tensorflow as tf

    class Conv1DTranspose(keras.layers.Conv1DTranspose):  # type: ignore[misc]
        """Conv1DTranspose at a static length as a Conv1D whose rows interleave."""

        def call(self, inputs: Any) -> Any:
            steps = inputs.shape[1]
            if (steps is None or self.dilation_rate[0] != 1 or self.output_padding is not None
                    or self.data_format != "channels_last"):
                return super().call(inputs)
            plan = polyphase_plan(self.kernel_size[0], self.strides[0], self.padding, steps)
            filters = self.filters
            zero = keras.ops.zeros((1, *self.kernel.shape[1:]), self.kernel.dtype)
            taps = keras.ops.take(keras.ops.concatenate([self.kernel, zero], 0), plan.index, 0)
            # taps (T, stride, out, in) -> kernel (T, in, stride * out), phase-major.
            kernel = keras.ops.reshape(keras.ops.transpose(taps, (0, 3, 1, 2)),
                                       (plan.index.shape[0], -1, plan.stride * filters))
            padded = keras.ops.pad(inputs, [[0, 0], [plan.left, plan.right], [0, 0]])
            rows = tf.nn.conv1d(padded, kernel, 1, "VALID")
            outputs = keras.ops.reshape(rows, (-1, plan.rows * plan.stride, filters))
            if plan.length != plan.rows * plan.stride:
                outputs = outputs[:, :plan.length, :]
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    return Conv1DTranspose
