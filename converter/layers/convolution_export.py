"""The export forms of the convolution family (see `convolution`), built on demand.

Each function returns a Keras 3 subclass for one target; TensorFlow and Keras are imported
only when `build` asks, so the catalogue stays free of them.
"""

from __future__ import annotations

from typing import Any

from converter.layers.polyphase import polyphase_plan


def export_conv1d(target: str) -> Any:
    """Conv1D whose dilated, causal or grouped form is one Conv2D on the length axis."""
    import keras
    import tensorflow as tf

    class Conv1D(keras.layers.Conv1D):  # type: ignore[misc]
        """Dilated, causal or grouped Conv1D as one Conv2D on the length axis.

        For TFLite a causal conv pads after the expansion to 4-D: a 3-D PAD of a dynamic
        length in front of EXPAND_DIMS is what LiteRT's GPU accelerator (on Mesa) computes
        wrong, while a 4-D PAD feeding CONV_2D it runs.
        """

        def call(self, inputs: Any) -> Any:
            dilation, causal = self.dilation_rate[0], self.padding == "causal"
            # Keras runs a grouped conv under XLA (TensorFlow's CPU kernel lacks groups): a
            # function call tf2onnx cannot convert, and SPACE_TO_BATCH_ND in TFLite where it
            # is dilated; the plain grouped Conv2D converts to one conv op in both.
            if self.data_format != "channels_last" or (
                    dilation == 1 and not causal and self.groups == 1):
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
    """Conv1DTranspose as its polyphase conv, at a static or a dynamic length."""
    import keras
    import tensorflow as tf

    class Conv1DTranspose(keras.layers.Conv1DTranspose):  # type: ignore[misc]
        """Conv1DTranspose as a Conv1D whose rows interleave.

        The plan's padding and taps do not depend on the length, so a dynamic length needs
        no output shape computed for a transposed conv: the interleave is one Reshape (to
        (N, -1, filters), N read at run time) and the crop a constant end.
        """

        def call(self, inputs: Any) -> Any:
            steps = inputs.shape[1]
            if (self.dilation_rate[0] != 1 or self.output_padding is not None
                    or self.data_format != "channels_last"):
                return super().call(inputs)
            plan = polyphase_plan(self.kernel_size[0], self.strides[0], self.padding,
                                  steps or 1)
            filters = self.filters
            zero = keras.ops.zeros((1, *self.kernel.shape[1:]), self.kernel.dtype)
            taps = keras.ops.take(keras.ops.concatenate([self.kernel, zero], 0), plan.index, 0)
            # taps (T, stride, out, in) -> kernel (T, in, stride * out), phase-major.
            kernel = keras.ops.reshape(keras.ops.transpose(taps, (0, 3, 1, 2)),
                                       (plan.index.shape[0], -1, plan.stride * filters))
            padded = keras.ops.pad(inputs, [[0, 0], [plan.left, plan.right], [0, 0]])
            rows = tf.nn.conv1d(padded, kernel, 1, "VALID")
            if steps is None:
                outputs = tf.reshape(rows, tf.stack([tf.shape(rows)[0], -1, filters]))
            else:
                outputs = keras.ops.reshape(rows, (-1, plan.rows * plan.stride, filters))
            excess = plan.rows * plan.stride - plan.length  # the same at every length
            if excess:
                outputs = outputs[:, :-excess, :]
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    return Conv1DTranspose
