"""Layers of another library's classes are replaced by their expansion into built-in layers.

Given: layers whose class an installed expansion claims (`converter.extensions`: keras-tcn's
`TCN` built in, others through the `converter.expansions` entry point), each called once.
Result: each replaced by the fragment its expansion returns, from the layer's config and
stored weights alone; every reader of the layer's outputs (and the model's outputs) reads
the fragment's instead. The change names the library and what the layer became. A class no
expansion claims is left for the build's refusal (or the user's --custom-objects).
"""

from __future__ import annotations

from dataclasses import replace

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import LoadError
from converter.extensions import StoredWeights, installed
from converter.graph.passes import GraphResult, PassResult, reading
from converter.graph.shapes import static_shapes


def stored(layer: Layer) -> StoredWeights:
    """A layer's weights with their paths inside the layer (its own name stripped)."""
    own = f"{layer.name}/"
    paths = tuple(p[len(own):] if p.startswith(own) else p for p in layer.weight_names)
    return StoredWeights(layer.weights, paths)


class ExpandLayers:
    """See the module docstring."""

    name = "expand_layers"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Replace every layer an expansion claims with its fragment."""
        claimed = installed().by_class
        targets = [x for x in graph.layers if x.class_name in claimed]
        if not targets:
            return PassResult(graph, False)
        shapes = static_shapes(graph)
        moved: dict[TensorRef, TensorRef] = {}
        fragments: dict[str, tuple[Layer, ...]] = {}
        changes: list[str] = []
        for layer in targets:
            if len(layer.calls) != 1:
                raise LoadError(f"layer {layer.name} ({layer.class_name}) is called "
                                f"{len(layer.calls)} times; expansions take one call")
            call = layer.calls[0]
            expansion = claimed[layer.class_name]
            fragment = expansion.expand(layer, call.inputs, stored(layer),
                                        tuple(shapes.get(r) for r in call.inputs))
            fragments[layer.name] = fragment.layers
            moved |= {TensorRef(layer.name, 0, i): ref for i, ref in enumerate(fragment.outputs)}
            changes.extend(f"{layer.name} ({expansion.library} {layer.class_name}): {note}"
                           for note in fragment.notes or ("expanded",))
        layers = [reading(layer, moved)
                  for x in graph.layers for layer in fragments.get(x.name, (x,))]
        outputs = tuple(moved.get(r, r) for r in graph.outputs)
        made = {x.name for fragment in fragments.values() for x in fragment}
        live = read_from(layers, outputs)
        dead = [x.name for x in layers if x.name in made and x.name not in live]
        if dead:
            changes.append(f"{len(dead)} layers of the expansions that nothing reads left out")
        layers = [x for x in layers if x.name not in dead]
        return PassResult(replace(graph, layers=tuple(layers), outputs=outputs), True,
                          tuple(changes))


def read_from(layers: list[Layer], outputs: tuple[TensorRef, ...]) -> set[str]:
    """The names of the layers the outputs depend on.

    A fragment's parts nothing reads (the last residual block's sum beside the skip
    connections) are left out of the graph with them.
    """
    producers = {x.name: x for x in layers}
    live: set[str] = set()
    pending = [r.layer for r in outputs]
    while pending:
        name = pending.pop()
        if name in live or name not in producers:
            continue
        live.add(name)
        pending.extend(r.layer for c in producers[name].calls for r in c.inputs)
    return live


PASS = ExpandLayers()
