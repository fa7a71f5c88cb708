"""Keras 1's `Merge` layer -> the Keras 3 merge layer of its mode.

Given: a `Merge` layer (Keras 1, and Keras 2's legacy layer) whose `mode` is one of concat,
sum, mul, ave, max, dot or cos, merging two or more tensors.
Result: Concatenate(axis=concat_axis), Add, Multiply, Average, Maximum, Dot(axes=dot_axes)
or Dot(axes=dot_axes, normalize=True) for cos, called on the same tensors (the translation
is the merge family's: `converter.layers.merge.translate_merge`). A mode given as a
function (marshalled bytecode) or a Merge of whole models is refused: converter runs no
code from a model file.
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import Layer
from converter.graph.passes import LayerPass
from converter.layers.merge import LEGACY, translate_merge


def rewrite(layer: Layer) -> tuple[Layer, list[str]] | None:
    """Replace one Merge layer."""
    if layer.class_name != LEGACY:
        return None
    target, config = translate_merge(layer)
    notes = [f"Merge(mode={layer.config.get('mode', 'sum')!r}) -> {target}"]
    calls = tuple(replace(call, list_input=True) for call in layer.calls)
    return replace(layer, class_name=target, config=config, calls=calls), notes


PASS = LayerPass("legacy_merge", rewrite)
