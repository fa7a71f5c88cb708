"""Dense, Embedding, normalisation, activation layers, merges and shape layers."""

from __future__ import annotations

from functools import reduce

import numpy as np

from converter.reference.activations import activation, elu, softmax
from converter.reference.registry import (
    Config,
    Inputs,
    UnsupportedByReference,
    Weights,
    axis_of,
    implementation,
    register,
)

Array = np.ndarray


@register("Dense")
def dense(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """X @ kernel + bias over the last axis."""
    out = np.tensordot(inputs[0], weights[0], axes=([-1], [0]))
    if config.get("use_bias", True) and len(weights) > 1:
        out = out + weights[1]
    return activation(config.get("activation"))(out)


@register("Embedding")
def embedding(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Row lookup; an out-of-range id is an error, as on TensorFlow's CPU kernels."""
    ids = inputs[0].astype(np.int64)
    if ids.min(initial=0) < 0 or ids.max(initial=0) >= weights[0].shape[0]:
        raise UnsupportedByReference(f"token ids outside [0, {weights[0].shape[0]})")
    return weights[0][ids]


def normalised(
    x: Array, axis: int, mean: Array, var: Array, epsilon: float
) -> tuple[Array, tuple[int, ...]]:
    """(x - mean) / sqrt(var + eps) with parameters broadcast along `axis`."""
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon), tuple(shape)


@register("BatchNormalization")
def batch_norm(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Inference form with the moving statistics; gamma/beta present per center/scale."""
    x = inputs[0]
    axis = axis_of(config.get("axis", -1), x.ndim)
    items = list(weights)
    gamma = items.pop(0) if config.get("scale", True) else None
    beta = items.pop(0) if config.get("center", True) else None
    mean, var = items
    out, shape = normalised(x, axis, mean, var, float(config.get("epsilon", 1e-3)))
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


@register("LayerNormalization")
def layer_norm(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Normalise over `axis` of each example."""
    x = inputs[0]
    axis = axis_of(config.get("axis", -1), x.ndim)
    if config.get("rms_scaling"):
        raise UnsupportedByReference("LayerNormalization(rms_scaling=True)")
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
    out = (x - mean) / np.sqrt(var + float(config.get("epsilon", 1e-3)))
    items = list(weights)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if config.get("scale", True) and items:
        out = out * items.pop(0).reshape(shape)
    if config.get("center", True) and items:
        out = out + items.pop(0).reshape(shape)
    return out


@register("Activation")
def activation_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The named activation."""
    return activation(config.get("activation"))(inputs[0])


@register("ReLU")
def relu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """max_value, negative_slope and threshold as Keras defines them."""
    x = inputs[0]
    threshold = float(config.get("threshold", 0.0))
    out = np.where(x >= threshold, x, float(config.get("negative_slope", 0.0)) * (x - threshold))
    if config.get("max_value") is not None:
        out = np.minimum(out, float(config["max_value"]))
    return out


@register("LeakyReLU")
def leaky_relu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """negative_slope (Keras 3) or alpha (Keras 2)."""
    slope = float(config.get("negative_slope", config.get("alpha", 0.3)))
    return np.where(inputs[0] > 0, inputs[0], slope * inputs[0])


@register("ELU")
def elu_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """ELU with its alpha."""
    return elu(inputs[0], float(config.get("alpha", 1.0)))


@register("PReLU")
def prelu(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Learned slope per (unshared) position."""
    return np.where(inputs[0] > 0, inputs[0], weights[0] * inputs[0])


@register("Softmax")
def softmax_layer(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Softmax over `axis`."""
    return softmax(inputs[0], axis_of(config.get("axis", -1), inputs[0].ndim))


MERGES = {
    "Add": lambda xs: reduce(np.add, xs),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: reduce(np.multiply, xs),
    "Average": lambda xs: reduce(np.add, xs) / len(xs),
    "Maximum": lambda xs: reduce(np.maximum, xs),
    "Minimum": lambda xs: reduce(np.minimum, xs),
}


def merge(name: str) -> None:
    """Register one elementwise merge."""

    def impl(config: Config, weights: Weights, inputs: Inputs) -> Array:
        return MERGES[name](np.broadcast_arrays(*inputs))

    register(name)(impl)


for merge_name in MERGES:
    merge(merge_name)


@register("Concatenate")
def concatenate(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Join along `axis`."""
    return np.concatenate(inputs, axis=axis_of(config.get("axis", -1), inputs[0].ndim))


@register("Dot")
def dot(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras batch dot over the given axes, optionally of l2-normalised inputs (cosine)."""
    x, y = inputs
    axes = config.get("axes", -1)
    ax = [axes, axes] if isinstance(axes, int) else list(axes)
    ax = [axis_of(ax[0], x.ndim), axis_of(ax[1], y.ndim)]
    if config.get("normalize"):
        x = x / np.maximum(np.linalg.norm(x, axis=ax[0], keepdims=True), 1e-12)
        y = y / np.maximum(np.linalg.norm(y, axis=ax[1], keepdims=True), 1e-12)
    xm = np.moveaxis(x, ax[0], -1)
    ym = np.moveaxis(y, ax[1], 1)
    out = np.einsum("bak,bkc->bac", xm.reshape(x.shape[0], -1, xm.shape[-1]),
                    ym.reshape(y.shape[0], ym.shape[1], -1))
    out = out.reshape(x.shape[0], *xm.shape[1:-1], *ym.shape[2:])
    return out.reshape(x.shape[0], 1) if out.ndim == 1 else out


@register("Flatten")
def flatten(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """(batch, ...) -> (batch, -1); channels_first flattens in channels-last order first."""
    x = inputs[0]
    if config.get("data_format") == "channels_first" and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return x.reshape(x.shape[0], -1)


@register("Reshape")
def reshape(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Reshape each example to `target_shape`."""
    return inputs[0].reshape(inputs[0].shape[0], *[int(d) for d in config["target_shape"]])


@register("Permute")
def permute(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Permute the non-batch axes (1-based `dims`)."""
    return np.transpose(inputs[0], (0, *[int(d) for d in config["dims"]]))


@register("RepeatVector")
def repeat_vector(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """(batch, d) -> (batch, n, d)."""
    return np.repeat(inputs[0][:, None, :], int(config["n"]), axis=1)


@register("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
          "ActivityRegularization", "Identity")
def identity(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Layers that are the identity at inference."""
    return inputs[0]


@register("TimeDistributed")
def time_distributed(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The wrapped layer on every step: (batch, steps, ...) folded to (batch * steps, ...)."""
    layer = config["layer"]
    x = inputs[0]
    impl = implementation(str(layer.get("class_name")))
    out = impl(layer.get("config", {}), weights, [x.reshape(-1, *x.shape[2:])])
    return out.reshape(x.shape[0], x.shape[1], *out.shape[1:])
