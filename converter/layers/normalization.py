"""Normalisation layers: BatchNormalization (inference form), Layer- and GroupNormalization."""

from __future__ import annotations

import numpy as np

from converter.errors import UnsupportedByReference
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import axis_of, over_channels, refuse_true, same_length


def normalised(
    x: Array, axis: int, mean: Array, var: Array, epsilon: float
) -> tuple[Array, tuple[int, ...]]:
    """(x - mean) / sqrt(var + eps) with parameters broadcast along `axis`."""
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon), tuple(shape)


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
    return np.asarray(out)


def group_norm(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Normalise each example over the length and the channels of each group.

    Keras's GroupNormalization; groups=-1 makes one group per channel.
    """
    x = inputs[0]
    axis = axis_of(config.get("axis", -1), x.ndim)
    channels = x.shape[axis]
    groups = int(config.get("groups", 32))
    groups = channels if groups == -1 else groups
    moved = np.moveaxis(x, axis, -1)
    grouped = moved.reshape(*moved.shape[:-1], groups, channels // groups)
    over = (*range(1, grouped.ndim - 2), grouped.ndim - 1)  # all but batch and group
    mean = grouped.mean(axis=over, keepdims=True)
    var = grouped.var(axis=over, keepdims=True)
    out = ((grouped - mean) / np.sqrt(var + float(config.get("epsilon", 1e-3)))).reshape(
        moved.shape)
    items = list(weights)
    if config.get("scale", True) and items:
        out = out * items.pop(0)
    if config.get("center", True) and items:
        out = out + items.pop(0)
    return np.moveaxis(out, -1, axis)


def axis_drift(config: dict[str, object], owner: str) -> list[str]:
    """A one-element `axis` list (tf.keras wrote them) as its int."""
    axis = config.get("axis")
    if not (isinstance(axis, list) and len(axis) == 1):
        return []
    config["axis"] = int(axis[0])
    return [f"axis {axis} -> {axis[0]}"]


SPECS = (
    LayerSpec("BatchNormalization", axis_key="axis", positionwise=over_channels,
              length=same_length, reference=batch_norm, keras2_drift=axis_drift,
              training_mode="normalises with each batch's own statistics",
              keras1={"BatchNormalization": Keras1Rule(
                  "BatchNormalization", {"mode": ""}, frozenset({"epsilon", "axis"}),
                  {"mode": refuse_true("mode")})}),
    LayerSpec("LayerNormalization", axis_key="axis", positionwise=over_channels,
              length=same_length, reference=layer_norm, keras2_drift=axis_drift),
    # Its statistics mix positions: not positionwise.
    LayerSpec("GroupNormalization", axis_key="axis", length=same_length, reference=group_norm,
              keras2_drift=axis_drift),
)
