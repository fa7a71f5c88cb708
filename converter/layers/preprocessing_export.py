"""The export form of Normalization (see `preprocessing`), built on demand."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.layers.preprocessing_stats import normalization_stats


def export_normalization(target: str) -> Any:
    """Normalization whose statistics are constants of the exported function."""
    import keras
    import tensorflow as tf

    class Normalization(keras.layers.Normalization):  # type: ignore[misc]
        """Normalization with its statistics as constants of the traced function.

        Keras 3 computes an adapted layer's mean and variance once, as tensors outside the
        model's function; traced, they are captured inputs, which tf2onnx writes as extra
        graph inputs. Read here (lifted out of the trace) and written as constants.
        """

        def call(self, inputs: Any) -> Any:
            with tf.init_scope():
                weights = [np.asarray(w) for w in self.get_weights()]
            config = {"axis": self.axis, "mean": self.input_mean,
                      "variance": self.input_variance}
            mean, std = normalization_stats(config, weights, len(inputs.shape))
            mean = keras.ops.convert_to_tensor(mean.astype(np.float32))
            std = keras.ops.convert_to_tensor(std.astype(np.float32))
            return mean + inputs * std if self.invert else (inputs - mean) / std

    return Normalization
