"""Merge layers (Add, Concatenate, Dot, ...) and Keras 1's `Merge`, which becomes one of them.

A `Merge` (Keras 1, and Keras 2's legacy layer) whose `mode` is concat, sum, mul, ave, max,
dot or cos becomes Concatenate(axis=concat_axis), Add, Multiply, Average, Maximum,
Dot(axes=dot_axes) or Dot(axes=dot_axes, normalize=True). A mode given as a function
(marshalled bytecode) or a Merge of whole models is refused: converter runs no code from a
model file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np

from converter.artifacts import Layer
from converter.errors import UnsupportedLayersError
from converter.layers.spec import Array, Config, Inputs, LayerSpec, Shape, Weights
from converter.layers.traits import always, axis_of, over_channels, same_length

LEGACY = "Merge"
MODES = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum"}
# The keys a Merge config may carry: its mode and arguments, and keys that only described
# Keras 1's shape inference for function modes (refused) or the nodes it was called on.
MERGE_KEYS = ("name", "trainable", "mode", "concat_axis", "dot_axes", "layers", "mode_type",
              "output_shape", "output_shape_type", "output_mask", "output_mask_type",
              "arguments", "node_indices", "tensor_indices")
ELEMENTWISE: dict[str, Callable[[list[Array]], Array]] = {
    "Add": lambda xs: reduce(np.add, xs),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: reduce(np.multiply, xs),
    "Average": lambda xs: reduce(np.add, xs) / len(xs),
    "Maximum": lambda xs: reduce(np.maximum, xs),
    "Minimum": lambda xs: reduce(np.minimum, xs),
}


def translate_merge(layer: Layer) -> tuple[str, dict[str, Any]]:
    """The Keras 3 class and config of one Keras 1 `Merge` layer."""
    config: Mapping[str, Any] = layer.config
    mode = config.get("mode", "sum")
    if config.get("mode_type", "raw") != "raw" or not isinstance(mode, str):
        raise UnsupportedLayersError(
            [(layer.name, "Merge with a Python function as its mode")],
            "converter never executes code from a model file; rebuild the merge with a "
            "built-in mode (concat, sum, mul, ave, max, dot, cos).",
        )
    if config.get("layers"):
        raise UnsupportedLayersError(
            [(layer.name, "Merge of whole Sequential models (Keras 1 container form)")],
            "rebuild the model with the Functional API (merge tensors, not models) and save "
            "it again.",
        )
    unknown = [key for key in config if key not in MERGE_KEYS]
    if unknown:
        raise UnsupportedLayersError(
            [(layer.name, f"Merge config key {key!r}") for key in unknown],
            "converter does not know what these keys mean, and dropping them could change "
            "the numbers; rebuild the merge with a Keras 2+ merge layer.",
        )
    base: dict[str, Any] = {"name": layer.name, "trainable": config.get("trainable", True)}
    if mode == "concat":
        return "Concatenate", {**base, "axis": int(config.get("concat_axis", -1))}
    if mode in ("dot", "cos"):
        return "Dot", {**base, "axes": config.get("dot_axes", -1), "normalize": mode == "cos"}
    if mode in MODES:
        return MODES[mode], base
    raise UnsupportedLayersError([(layer.name, f"Merge mode {mode!r}")],
                                 "use one of concat, sum, mul, ave, max, dot, cos.")


def elementwise_reference(name: str) -> Callable[[Config, Weights, Inputs], Array]:
    """The reference of one elementwise merge (inputs broadcast against each other)."""

    def impl(config: Config, weights: Weights, inputs: Inputs) -> Array:
        return ELEMENTWISE[name](list(np.broadcast_arrays(*inputs)))

    impl.__doc__ = f"Keras {name}."
    return impl


def concatenate(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Join along `axis`."""
    return np.concatenate(inputs, axis=axis_of(config.get("axis", -1), inputs[0].ndim))


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
    return np.asarray(out.reshape(x.shape[0], 1) if out.ndim == 1 else out)


def concatenated(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """The inputs joined along `axis` (counted with the batch axis, as Keras counts it)."""
    if not inputs or any(s is None for s in inputs) or len({len(s or ()) for s in inputs}) != 1:
        return None
    shapes = [s for s in inputs if s is not None]
    axis = int(config.get("axis", -1))
    position = axis % (len(shapes[0]) + 1) - 1
    if position < 0:
        return None
    sizes = [s[position] for s in shapes]
    joined = None if any(d is None for d in sizes) else sum(d for d in sizes if d is not None)
    return (*shapes[0][:position], joined, *shapes[0][position + 1:])


def from_merge(name: str) -> tuple[str, ...]:
    """("Merge",) when some Merge mode becomes class `name`."""
    return (LEGACY,) if name in (*MODES.values(), "Concatenate", "Dot") else ()


SPECS = (
    *(LayerSpec(name, elementwise=True, positionwise=always, length=same_length,
                reference=elementwise_reference(name), from_legacy=from_merge(name))
      for name in ELEMENTWISE),
    LayerSpec("Concatenate", axis_key="axis", positionwise=over_channels, length=same_length,
              shape=concatenated,
              reference=concatenate, from_legacy=from_merge("Concatenate")),
    LayerSpec("Dot", reference=dot, from_legacy=from_merge("Dot")),
)
