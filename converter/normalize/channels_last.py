"""Pass: a channels_first graph -> channels_last, keeping the model's external layout.

Given: layers with data_format="channels_first" (tf.keras and Keras 3 accept it; the TFLite
converter computes wrong numbers for it or refuses it, and every runtime pays transposes).
Result: every such layer is channels_last; a tensor a channels_first layer produced travels
transposed ("flipped") through the layers that do not care (the catalogue's `elementwise`:
activations, merges, dropout) or whose axis argument is remapped (its `axis_key`:
BatchNormalization, LayerNormalization, Concatenate, Softmax); a Flatten of a flipped tensor
feeding only Dense layers gets their kernel rows permuted from (C, W) to (W, C) order. Any
other reader of a flipped tensor, and every model output, gets a Permute((2, 1)) back, so
the model's inputs and outputs keep their layout and layers this pass does not know stay
correct. A Permute((2, 1)) to channels_last is inserted where a channels_first layer reads a
tensor that is not flipped (at the inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.graph.flatten_order import reorder_rows
from converter.graph.passes import GraphResult, PassResult
from converter.layers import spec_of

# Axis of a rank-3 channels_first tensor -> the same axis once flipped to channels_last.
FLIPPED_AXIS = {0: 0, 1: 2, 2: 1}


@dataclass
class Rewrite:
    """The pass's working state: layers out, flipped tensors, their channel counts."""

    graph: ModelGraph
    layers: list[Layer] = field(default_factory=list)
    flipped: dict[TensorRef, int | None] = field(default_factory=dict)
    permutes: dict[tuple[TensorRef, str], TensorRef] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    # Flatten outputs now in (W, C) order where the original had (C, W): their channels.
    reordered: dict[TensorRef, int] = field(default_factory=dict)
    dense_channels: dict[str, int] = field(default_factory=dict)

    def permute(self, ref: TensorRef, to: str) -> TensorRef:
        """A Permute((2, 1)) of `ref` named for the layout it produces (made once)."""
        key = (ref, to)
        if key not in self.permutes:
            suffix = "" if (ref.call_index, ref.tensor_index) == (0, 0) else \
                f"_{ref.call_index}_{ref.tensor_index}"
            name = f"{ref.layer}{suffix}_to_{to}"
            config = {"name": name, "trainable": False, "dims": [2, 1]}
            self.layers.append(Layer(name, "Permute", config, (LayerCall((ref,)),)))
            self.permutes[key] = TensorRef(name)
            self.changes.append(f"{name}: Permute((2, 1)) inserted, to {to}")
        return self.permutes[key]

    def flipped_all(self, refs: tuple[TensorRef, ...]) -> tuple[TensorRef, ...]:
        """Every ref in channels_last order (a Permute for those not flipped yet)."""
        return tuple(r if r in self.flipped else self.permute(r, "channels_last") for r in refs)

    def logical(self, ref: TensorRef) -> TensorRef:
        """`ref` in the layout the original graph expects."""
        return self.permute(ref, "channels_first") if ref in self.flipped else ref


def boundary_permute(layer: Layer, to: str) -> bool:
    """Whether `layer` is a boundary Permute this pass made into the layout `to`.

    "channels_last" after an input, "channels_first" before an output: `Rewrite.permute`
    names them so.
    """
    return layer.class_name == "Permute" and layer.name.endswith(f"_to_{to}")


def applies(graph: ModelGraph) -> bool:
    """Whether any layer is channels_first."""
    return any(layer.config.get("data_format") == "channels_first" for layer in graph.layers)


def call(graph: ModelGraph) -> GraphResult:
    """Rewrite the graph to channels_last."""
    if not applies(graph):
        return PassResult(graph, False)
    state = Rewrite(graph)
    for layer in graph.layers:
        calls = tuple(rewrite_call(state, layer, c, index) for index, c in enumerate(layer.calls))
        state.layers.append(rewritten_layer(state, layer, calls))
    outputs = tuple(state.logical(ref) for ref in graph.outputs)
    inputs_first = [x for x in state.layers if x.class_name == "InputLayer"]
    rest = [x for x in state.layers if x.class_name != "InputLayer"]
    new = replace(graph, layers=tuple(inputs_first + rest), outputs=outputs)
    return PassResult(new, True, tuple(state.changes))


def rewrite_call(state: Rewrite, layer: Layer, layer_call: LayerCall, index: int) -> LayerCall:
    """The call with its inputs in the layout the rewritten layer reads; records outputs."""
    config, refs = layer.config, layer_call.inputs
    first = config.get("data_format") == "channels_first"
    out = TensorRef(layer.name, index)
    data_format = spec_of(layer.class_name).data_format
    if data_format == "window" and first:
        channels = channel_count(layer, refs, state)
        refs = state.flipped_all(refs)
        state.flipped[out] = channels
    elif data_format == "global" and first:
        refs = state.flipped_all(refs)
        if config.get("keepdims"):
            state.flipped[out] = None
    elif layer.class_name == "Flatten" and flattens_flipped(layer, state, refs):
        if config.get("data_format") != "channels_first":
            state.reordered[out] = state.flipped[refs[0]]  # type: ignore[assignment]
    elif any(r in state.flipped for r in refs) and flips_through(layer):
        refs = state.flipped_all(refs)
        state.flipped[out] = next((state.flipped[r] for r in refs if r in state.flipped), None)
    else:
        refs = tuple(state.logical(r) for r in refs)
        if layer.class_name == "Dense" and refs and refs[0] in state.reordered:
            state.dense_channels[layer.name] = state.reordered[refs[0]]
    return replace(layer_call, inputs=refs)


def flips_through(layer: Layer) -> bool:
    """Whether a layer computes the same on a flipped tensor (its axis remapped)."""
    spec = spec_of(layer.class_name)
    if spec.elementwise:
        return True
    return spec.axis_key is not None and all(isinstance(a, int) for a in axes(layer))


def flattens_flipped(layer: Layer, state: Rewrite, refs: tuple[TensorRef, ...]) -> bool:
    """Whether a Flatten can read its flipped input.

    It can when it flattened channels-last order already (data_format channels_first), or
    when the channel count is known and only single-call Dense layers read it: their kernel
    rows are then reordered to the (W, C) order.
    """
    if not refs or refs[0] not in state.flipped:
        return False
    if layer.config.get("data_format") == "channels_first":
        return True
    readers = [state.graph.layer(name) for name in state.graph.consumers(layer.name)]
    return state.flipped[refs[0]] is not None and bool(readers) and all(
        r.class_name == "Dense" and len(r.calls) == 1 for r in readers)


def axes(layer: Layer) -> list[Any]:
    """The layer's axis argument as a list."""
    value = layer.config.get(str(spec_of(layer.class_name).axis_key), -1)
    return list(value) if isinstance(value, (list, tuple)) else [value]


def channel_count(layer: Layer, refs: tuple[TensorRef, ...], state: Rewrite) -> int | None:
    """Channels of a format layer's output, when its config or its input says."""
    if "filters" in layer.config and layer.class_name != "DepthwiseConv1D":
        return int(layer.config["filters"])
    if layer.class_name == "DepthwiseConv1D" and layer.weights:
        kernel = layer.weights[0]
        return int(kernel.shape[1] * kernel.shape[2])
    return state.flipped.get(refs[0]) if refs else None


def rewritten_layer(state: Rewrite, layer: Layer, calls: tuple[LayerCall, ...]) -> Layer:
    """The layer's config for the layout its calls now read, a Dense kernel reordered."""
    config: dict[str, Any] = dict(layer.config)
    reads_flipped = any(r in state.flipped for c in calls for r in c.inputs)
    key = spec_of(layer.class_name).axis_key
    if config.get("data_format") == "channels_first" and (
            spec_of(layer.class_name).data_format is not None or (
            layer.class_name == "Flatten" and reads_flipped)):
        config["data_format"] = "channels_last"
        state.changes.append(f"{layer.name}: data_format channels_first -> channels_last")
    if key is not None and reads_flipped:
        old = axes(layer)
        new = [FLIPPED_AXIS[a % 3] for a in old]
        config[key] = new if isinstance(config.get(key), (list, tuple)) else new[0]
        state.changes.append(f"{layer.name}: {key} {old} -> {new} (input flipped)")
    weights = layer.weights
    channels = state.dense_channels.get(layer.name)
    if channels is not None and weights:
        weights = (reorder_rows(weights[0], channels), *weights[1:])
        state.changes.append(f"{layer.name}: kernel rows reordered from (C={channels}, W) "
                             "to (W, C) flatten order")
    return replace(layer, config=config, calls=calls, weights=weights)


@dataclass(frozen=True)
class ChannelsLastPass:
    """The pass object DEFAULT_PASSES lists."""

    name: str = "channels_last"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Rewrite the graph to channels_last."""
        return call(graph)


PASS = ChannelsLastPass()
