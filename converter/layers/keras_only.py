"""Keras 3 classes the pipeline builds and exports but the NumPy reference does not interpret.

A model with one of them is checked against Keras itself; where Keras cannot run the
original, the NumPy reference says which layer it lacks.
"""

from __future__ import annotations

from typing import Any

from converter.layers.convolution import separable_drift, ungrouped
from converter.layers.normalization import axis_drift
from converter.layers.spec import LayerSpec

PLAIN = ("Conv2D", "Conv3D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D",
         "GlobalAveragePooling2D", "Masking",
         "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Lambda", "SpatialDropout2D")

# tf.keras's MultiHeadAttention records the shapes it was built with; Keras 3 builds from
# the call. softmax_robust_masking only changes masked positions.
ATTENTION_BUILD_KEYS = ("query_shape", "key_shape", "value_shape", "softmax_robust_masking")


def attention_drift(config: dict[str, Any], owner: str) -> list[str]:
    """tf.keras's build-shape keys dropped: Keras 3 takes the shapes from the call."""
    dropped = [key for key in ATTENTION_BUILD_KEYS if key in config]
    for key in dropped:
        config.pop(key)
    return [f"{key} dropped (Keras 3 builds from the call)" for key in dropped]


# What the attention layers' calls take besides their first argument.
ATTENTION_CALL = frozenset({"return_attention_scores", "use_causal_mask"})

SPECS = (
    *(LayerSpec(name) for name in PLAIN),
    LayerSpec("MultiHeadAttention", keras2_drift=attention_drift, call_kwargs=ATTENTION_CALL | {
        "query", "value", "key", "attention_mask", "__args__"}),
    LayerSpec("Attention", call_kwargs=ATTENTION_CALL),
    LayerSpec("ConvLSTM1D", sizes=("kernel_size", "strides", "dilation_rate")),
    LayerSpec("SeparableConv2D", keras2_drift=separable_drift),
    LayerSpec("Conv2DTranspose", keras2_drift=ungrouped("transposed")),
    LayerSpec("UnitNormalization", keras2_drift=axis_drift),
)
