"""The tensor before a final softmax or sigmoid: what a saturated classifier still shows.

A softmax that puts 1.0 on one class hides any change of its logits; comparing the logits
too keeps a check able to fail. For every model output that is a softmax or a sigmoid (a
Softmax layer, an Activation, or a layer's fused activation), `with_logits` adds its logits
as one more output named `<output>_logits`, so the reference can compute them; artifacts are
read for the same tensor among their intermediates (nothing is added to a shipped file).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.graph.interface import output_names

Squash = Literal["softmax", "sigmoid"]
SQUASHES: tuple[Squash, ...] = ("softmax", "sigmoid")
SUFFIX = "_logits"


@dataclass(frozen=True)
class Logits:
    """One output whose values are a softmax or sigmoid of its logits.

    `output` is the output's name (as the artifacts and the reference name it), `kind` the
    squashing function, `name` the extra output that carries the logits.
    """

    output: str
    kind: Squash
    name: str


def squash_of(layer: Layer) -> Squash | None:
    """Which squashing function a layer ends in, if any."""
    if layer.class_name == "Softmax":
        return "softmax"
    activation = layer.config.get("activation")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name", activation.get("class_name"))
    return activation if activation in SQUASHES else None


def logits_layer(layer: Layer, ref: TensorRef, name: str) -> Layer:
    """A layer computing the logits of `layer`'s output (call `ref.call_index` of it)."""
    call = layer.calls[ref.call_index]
    if layer.class_name in ("Softmax", "Activation"):  # the logits are its input
        return Layer(name, "Activation", {"name": name, "activation": "linear"}, (call,))
    config = {**layer.config, "name": name, "activation": "linear"}
    return replace(layer, name=name, config=config, calls=(LayerCall(call.inputs,
                                                                     call.list_input),))


def logit_outputs(graph: ModelGraph) -> tuple[Logits, ...]:
    """The outputs of `graph` that are a softmax or sigmoid, with their logits' names."""
    squashed = [(name, squash_of(graph.layer(ref.layer)))
                for ref, name in zip(graph.outputs, output_names(graph), strict=True)
                if ref.tensor_index == 0]
    kinds = [(name, kind) for name, kind in squashed if kind is not None]
    extra = output_names(with_logits(graph))[len(graph.outputs):]
    return tuple(Logits(name, kind, logits) for (name, kind), logits in
                 zip(kinds, extra, strict=True))


def with_logits(graph: ModelGraph) -> ModelGraph:
    """The graph with each softmax or sigmoid output's logits as one more output.

    The added outputs come after the model's own, in `logit_outputs` order; the graph is
    returned as it is when no output is squashed.
    """
    added = []
    names = dict(zip(graph.outputs, output_names(graph), strict=True))
    taken = {x.name for x in graph.layers}
    for ref in graph.outputs:
        layer = graph.layer(ref.layer)
        if squash_of(layer) is None or ref.tensor_index != 0:
            continue
        name = f"{names[ref]}{SUFFIX}"
        while name in taken:
            name = f"{name}_"
        taken.add(name)
        added.append(logits_layer(layer, ref, name))
    if not added:
        return graph
    return replace(graph, layers=(*graph.layers, *added),
                   outputs=(*graph.outputs, *(TensorRef(x.name) for x in added)))
