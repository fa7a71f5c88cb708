"""Keras 3 classes the pipeline builds and exports but the NumPy reference does not interpret.

A model with one of them is checked against Keras itself; where Keras cannot run the
original, the NumPy reference says which layer it lacks.
"""

from __future__ import annotations

from converter.layers.convolution import separable_drift, ungrouped
from converter.layers.normalization import axis_drift
from converter.layers.spec import LayerSpec

PLAIN = ("Conv2D", "Conv3D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D",
         "GlobalAveragePooling2D", "MultiHeadAttention", "Attention", "Masking",
         "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Lambda", "SpatialDropout2D",
         "Rescaling")

SPECS = (
    *(LayerSpec(name) for name in PLAIN),
    LayerSpec("ConvLSTM1D", sizes=("kernel_size", "strides", "dilation_rate")),
    LayerSpec("SeparableConv2D", keras2_drift=separable_drift),
    LayerSpec("Conv2DTranspose", keras2_drift=ungrouped("transposed")),
    LayerSpec("Normalization", keras2_drift=axis_drift),
    LayerSpec("UnitNormalization", keras2_drift=axis_drift),
)
