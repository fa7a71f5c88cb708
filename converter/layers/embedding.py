"""Embedding: token ids -> vectors, exported as one gather."""

from __future__ import annotations

from typing import Any

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import always, same_length


def embedding(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Row lookup; an out-of-range id is an error, as on TensorFlow's CPU kernels."""
    ids = inputs[0].astype(np.int64)
    if ids.min(initial=0) < 0 or ids.max(initial=0) >= weights[0].shape[0]:
        raise UnsupportedByReference(f"token ids outside [0, {weights[0].shape[0]})")
    return weights[0][ids]


def export_embedding(target: str) -> Any:
    """Embedding as one gather, for token ids in range.

    Keras 3's take() first wraps negative ids with LESS / SELECT (3 extra ops in TFLite,
    8 ONNX nodes), which valid token ids never need.
    """
    import keras
    import tensorflow as tf

    class Embedding(keras.layers.Embedding):  # type: ignore[misc]
        def call(self, inputs: Any) -> Any:
            if self.mask_zero or getattr(self, "lora_enabled", False) or getattr(
                    self, "quantization_mode", None):
                return super().call(inputs)
            outputs = tf.gather(self.embeddings, tf.cast(inputs, "int32"))
            return tf.cast(outputs, self.compute_dtype)

    return Embedding


SPECS = (
    LayerSpec("Embedding", positionwise=always, length=same_length, reference=embedding,
              shape=lambda config, inputs: None if inputs[0] is None else (
                  *inputs[0], int(config["output_dim"])),
              export=export_embedding,
              keras1={"Embedding": Keras1Rule(
                  "Embedding", {"dropout": ""}, frozenset({"input_dim", "output_dim", "mask_zero"}),
                  dropped_at={"mask_zero": False})}),
)
