"""Export pass: "same" convolutions whose edges a crop throws away become "valid" ones.

Given: stride-1 "same" Conv1Ds followed, on every path to the outputs, by a Cropping1D
(SpliceAI: 32 convs of kernel 11-41 and dilation 1-25, then Cropping1D(5000) keeps the
central 5,000 of 15,000 positions). A "same" conv computes every position; the crop then
discards the edges, so at that length 43% of the multiply-adds of the 8 widest convs go to
positions no output reads.
Result: a conv whose reach the crops downstream cover on both sides pads nothing
("valid"), so each tensor is computed only over the positions some output needs. A merge
whose inputs now differ in length crops the longer ones (a new Cropping1D), and each
Cropping1D keeps only what the convs before it did not already drop (removed at zero).
Every remaining output position is the same dot product as before and the outputs keep
their shapes; the files are smaller in work, not different in result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.graph.passes import GraphResult, PassResult
from converter.layers import spec_of
from converter.layers.shape import crop_sides
from converter.layers.traits import size_of
from converter.layers.windows import pad_amounts

Sides = tuple[int, int]
NONE: Sides = (0, 0)


class ValidWindows:
    """The pass object (see the module docstring)."""

    name = "valid_windows"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """The graph with every conv computing only the positions outputs read."""
        if not any(x.class_name == "Cropping1D" for x in graph.layers):
            return PassResult(graph, False)
        # single-call layers in dependency order (a shared layer is never rewritten)
        order = [x for x, _ in graph.call_order()[0] if len(x.calls) == 1]
        windowed = sequence_layers(graph, order)
        layers, bypass, changes = trimmed(graph, order, windowed,
                                          droppable(graph, order, windowed))
        if not changes:
            return PassResult(graph, False)
        outputs = tuple(bypass.get(r, r) for r in graph.outputs)
        return PassResult(replace(graph, layers=tuple(layers.values()), outputs=outputs), True,
                          tuple(changes))


def sequence_layers(graph: ModelGraph, order: list[Layer]) -> dict[str, Layer]:
    """Layers that map a (batch, steps, channels) sequence to one, position for position.

    Stride-1 channels_last Conv1Ds, pointwise layers over channels, merges of sequences and
    Cropping1D; a shared layer (called more than once) never is.
    """
    sequences = {TensorRef(r.layer) for r in graph.inputs
                 if len(graph.layer(r.layer).config.get("batch_shape") or ()) == 3}
    found: dict[str, Layer] = {}
    for layer in order:
        inputs = layer.calls[0].inputs
        if inputs and all(r in sequences for r in inputs) and keeps_positions(layer):
            found[layer.name] = layer
            sequences.add(TensorRef(layer.name))
    return found


def keeps_positions(layer: Layer) -> bool:
    """Whether a layer reads and writes sequences without mixing their positions.

    A stride-1 channels_last Conv1D, a Cropping1D, or a layer whose catalogue entry is
    `positionwise` for its config (activations, batch norms and merges over channels, Dense).
    """
    config = layer.config
    if layer.class_name == "Conv1D":
        return config.get("data_format", "channels_last") == "channels_last" and (
            size_of(config.get("strides", 1)) == 1) and config.get("padding") in (
            "same", "valid", "causal")
    return layer.class_name == "Cropping1D" or spec_of(layer.class_name).positionwise(config)


def droppable(graph: ModelGraph, order: list[Layer],
              windowed: Mapping[str, Layer]) -> dict[TensorRef, Sides]:
    """Per tensor, how many leading and trailing positions no output reads."""
    need: dict[TensorRef, Sides] = {}
    for layer in reversed(order):
        out, readers = TensorRef(layer.name), graph.consumers(layer.name)
        if out in graph.outputs or not readers:
            need[out] = NONE
            continue
        sides = [read_need(windowed[x], need.get(TensorRef(x), NONE)) if x in windowed
                 else NONE for x in readers]
        need[out] = (min(s[0] for s in sides), min(s[1] for s in sides))
    return need


def read_need(reader: Layer, after: Sides) -> Sides:
    """What a reader leaves droppable of its input, given what is droppable of its output."""
    if reader.class_name == "Cropping1D":
        left, right = crop_sides(reader.config)
        return after[0] + left, after[1] + right
    if reader.class_name != "Conv1D":
        return after
    padding = reader.config.get("padding")
    if padding == "causal":
        return 0, after[1]
    if padding == "same":
        left, right = same_pads(reader.config)
        if after[0] < left or after[1] < right:
            return NONE
        return after[0] - left, after[1] - right
    return after


def trimmed(
    graph: ModelGraph, order: list[Layer], windowed: Mapping[str, Layer],
    need: Mapping[TensorRef, Sides],
) -> tuple[dict[str, Layer], dict[TensorRef, TensorRef], list[str]]:
    """The rewritten layers by name, removed crops' outputs -> their inputs, and the changes.

    `trim` is what each tensor no longer computes at its start and end, in the positions of
    the original tensor (a removed crop's replacement is read in the crop's positions).
    """
    trim: dict[TensorRef, Sides] = {}
    layers = {x.name: x for x in graph.layers}
    bypass: dict[TensorRef, TensorRef] = {}
    changes: list[str] = []
    for layer in order:
        if layer.name not in windowed:
            continue
        sides = [trim.get(r, NONE) for r in layer.calls[0].inputs]
        inputs = [bypass.get(r, r) for r in layer.calls[0].inputs]
        out, config = TensorRef(layer.name), dict(layer.config)
        if layer.class_name == "Conv1D" and config.get("padding") == "same" and any(
                same_pads(config)) and all(
                n >= p for n, p in zip(need[out], same_pads(config), strict=True)):
            left, right = same_pads(config)
            config["padding"] = "valid"
            trim[out] = (sides[0][0] + left, sides[0][1] + right)
            changes.append(f"{layer.name}: padding same -> valid ({left} + {right} edge "
                           "positions no output reads)")
        elif layer.class_name == "Cropping1D":
            (left, right), (done_left, done_right) = crop_sides(config), sides[0]
            config["cropping"] = [max(0, left - done_left), max(0, right - done_right)]
            trim[out] = (max(0, done_left - left), max(0, done_right - right))
            if config["cropping"] == [0, 0]:
                bypass[out] = inputs[0]
                del layers[layer.name]
                changes.append(f"{layer.name}: removed, the convs before it already drop "
                               f"({left}, {right})")
                continue
            if config["cropping"] != [left, right]:
                changes.append(f"{layer.name}: cropping ({left}, {right}) -> "
                               f"({config['cropping'][0]}, {config['cropping'][1]})")
        else:
            trim[out] = (max(s[0] for s in sides), max(s[1] for s in sides))
            inputs = [crop_to(layers, layer, ref, side, trim[out], changes)
                      for ref, side in zip(inputs, sides, strict=True)]
        call = replace(layer.calls[0], inputs=tuple(inputs))
        layers[layer.name] = replace(layer, config=config, calls=(call,))
    for name, layer in layers.items():  # other readers of a removed crop read its input
        if name not in windowed:
            layers[name] = replace(layer, calls=tuple(
                replace(c, inputs=tuple(bypass.get(r, r) for r in c.inputs))
                for c in layer.calls))
    return layers, bypass, changes


def crop_to(layers: dict[str, Layer], merge: Layer, ref: TensorRef, has: Sides, wants: Sides,
            changes: list[str]) -> TensorRef:
    """`ref` as `merge` reads it: through a new Cropping1D when it is longer than the rest."""
    extra = [wants[0] - has[0], wants[1] - has[1]]
    if extra == [0, 0]:
        return ref
    name, count = f"{merge.name}_crop", 0
    while name in layers:
        count += 1
        name = f"{merge.name}_crop_{count}"
    config = {"name": name, "cropping": extra, "trainable": False}
    if "dtype" in merge.config:
        config["dtype"] = merge.config["dtype"]
    layers[name] = Layer(name, "Cropping1D", config, (LayerCall((ref,)),))
    changes.append(f"{name}: new, crops {ref.layer} by ({extra[0]}, {extra[1]}) for "
                   f"{merge.name}")
    return TensorRef(name)


def same_pads(config: Mapping[str, Any]) -> Sides:
    """The zero padding a stride-1 "same" Conv1D adds before and after its input."""
    span = (size_of(config.get("kernel_size", 1)) - 1) * size_of(config.get("dilation_rate", 1)) + 1
    return pad_amounts(span, span, 1, "same")


PASS = ValidWindows()
