"""Preprocessing layers inside a model: their state (weights or config) becomes constants.

Normalization holds its mean and variance as weights (adapted) or in its config (given);
Rescaling its scale and offset in its config; CenterCrop only sizes. Keras 3 keeps an
adapted Normalization's statistics as tensors computed outside the model's function, which
tf2onnx turns into extra graph inputs: the export form reads them as constants. Lookup
layers hold a vocabulary, a hash table neither TFLite builtins nor ONNX operators hold: they
are refused with what to do instead.
"""

from __future__ import annotations

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.normalization import axis_drift
from converter.layers.preprocessing_export import export_normalization
from converter.layers.preprocessing_stats import config_array, normalization_stats
from converter.layers.spec import Array, Config, Inputs, LayerSpec, Weights
from converter.layers.traits import always, over_channels, same_length

VOCABULARY = (
    "its vocabulary is a hash table, which neither TFLite builtins nor ONNX operators hold "
    "(stock converters need TensorFlow ops or an ONNX extension for it); look the tokens up "
    "in the app and save the model from the layer after this one")


def normalization(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """(x - mean) / std, or x * std + mean where `invert`."""
    x = inputs[0]
    mean, std = normalization_stats(config, weights, x.ndim)
    return np.asarray(mean + x * std if config.get("invert") else (x - mean) / std)


def rescaling(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The input times `scale` plus `offset`."""
    return np.asarray(inputs[0] * config_array(config.get("scale", 1.0)) + config_array(
        config.get("offset", 0.0)))


def center_crop(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The centre (height, width) window of images (..., H, W, C).

    Keras resizes images smaller than the window, which the reference does not.
    """
    x = inputs[0]
    height, width = int(config["height"]), int(config["width"])
    if x.ndim < 4 or config.get("data_format") == "channels_first":
        raise UnsupportedByReference("CenterCrop of other than channels_last image batches")
    rows, cols = x.shape[-3], x.shape[-2]
    if rows < height or cols < width:
        raise UnsupportedByReference("CenterCrop of an image smaller than its window")
    top, left = (rows - height) // 2, (cols - width) // 2
    return x[..., top:top + height, left:left + width, :]


def normalization_positionwise(config: Config) -> bool:
    """Statistics per channel only: each position is normalised alone."""
    return over_channels(config) or config.get("axis") in ((-1,), (2,))


SPECS = (
    LayerSpec("Normalization", positionwise=normalization_positionwise, length=same_length,
              reference=normalization, export=export_normalization, keras2_drift=axis_drift),
    LayerSpec("Rescaling", positionwise=always, length=same_length, reference=rescaling),
    LayerSpec("CenterCrop", reference=center_crop),
    *(LayerSpec(name, refusal=VOCABULARY) for name in (
        "IntegerLookup", "StringLookup", "TextVectorization", "Hashing", "HashedCrossing")),
)
