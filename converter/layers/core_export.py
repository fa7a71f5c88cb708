"""The export form of Dense (see `core`), built on demand.

TensorFlow writes a Dense over a sequence as Tensordot: reshape to rows, multiply, and
reshape back to a target it reads from the input's shape at run time, so the TFLite file
carries SHAPE, GATHER, REDUCE_PROD and PACK even at a static length. A broadcasting matmul
is the same product: one FULLY_CONNECTED in TFLite (the bias fused), one MatMul in ONNX.
"""

from __future__ import annotations

from typing import Any


def export_dense(target: str) -> Any:
    """Dense whose product over a sequence is one broadcasting matmul."""
    import keras
    import tensorflow as tf

    class Dense(keras.layers.Dense):  # type: ignore[misc]
        """Dense over a rank >= 3 input as tf.matmul, without Tensordot's shape ops."""

        def call(self, inputs: Any, training: Any = None) -> Any:
            if len(inputs.shape) < 3:
                return super().call(inputs)
            outputs = tf.matmul(inputs, self.kernel)
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    return Dense
