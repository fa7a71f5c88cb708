"""Keras 1's `Merge` layer -> the Keras 3 merge layer of its mode.

Given: a `Merge` layer (Keras 1, and Keras 2's legacy layer) whose `mode` is one of concat,
sum, mul, ave, max, dot or cos, merging two or more tensors.
Result: Concatenate(axis=concat_axis), Add, Multiply, Average, Maximum, Dot(axes=dot_axes)
or Dot(axes=dot_axes, normalize=True) for cos, called on the same tensors.
A mode given as a function (marshalled bytecode) or a Merge of whole models is refused:
converter runs no code from a model file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from converter.artifacts import Layer
from converter.errors import UnsupportedLayersError
from converter.normalize._infra import LayerPass

TARGETS = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum"}
# The keys a Merge config may carry: its mode and arguments, and keys that only described
# Keras 1's shape inference for function modes (refused) or the nodes it was called on.
KNOWN = ("name", "trainable", "mode", "concat_axis", "dot_axes", "layers", "mode_type",
         "output_shape", "output_shape_type", "output_mask", "output_mask_type", "arguments",
         "node_indices", "tensor_indices")


def merge_config(layer: Layer) -> tuple[str, dict[str, Any]]:
    """The Keras 3 class and config of one Merge layer."""
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
    unknown = [key for key in config if key not in KNOWN]
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
        axes = config.get("dot_axes", -1)
        return "Dot", {**base, "axes": axes, "normalize": mode == "cos"}
    if mode in TARGETS:
        return TARGETS[mode], base
    raise UnsupportedLayersError(
        [(layer.name, f"Merge mode {mode!r}")],
        "use one of concat, sum, mul, ave, max, dot, cos.",
    )


def rewrite(layer: Layer) -> tuple[Layer, list[str]] | None:
    """Replace one Merge layer."""
    if layer.class_name != "Merge":
        return None
    target, config = merge_config(layer)
    notes = [f"Merge(mode={layer.config.get('mode', 'sum')!r}) -> {target}"]
    calls = tuple(replace(call, list_input=True) for call in layer.calls)
    return replace(layer, class_name=target, config=config, calls=calls), notes


PASS = LayerPass("legacy_merge", rewrite)
