"""TF-op layers (tf.keras's TFOpLambda and SlicingOpLambda) become table functions.

Given: layers that name a TensorFlow function (`config["function"]`, "math.add") and record
its arguments in their inbound node: the first positionally (a tensor, a list of tensors,
or a constant), the rest by keyword (`y=` another tensor or a number, `axis=1`); and Keras 3
operations recorded as layers (`KerasOp`, `layers.keras_ops`: positional tensors, settings
in the config), which are first written as the TF-op layer they are.
Result: each is a `TFOp` layer (`layers.tf_ops`) whose config holds the function and its
arguments by TensorFlow's parameter names, tensors as placeholders into the call's inputs;
a split becomes one layer per piece, its readers rewired. A function outside the table, an
argument the function does not take, or a layer called twice stops the load, every such
layer named at once. Nothing recorded in the file is executed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import UnsupportedLayersError
from converter.graph.call_args import EXTRA_ARGS, FIRST, TENSOR, first_indices
from converter.graph.passes import GraphResult, PassResult, reading
from converter.layers.keras_ops import CLASS as KERAS_OP
from converter.layers.keras_ops import OPERATION, OPERATIONS, settings
from converter.layers.tf_ops import ARGUMENTS, FUNCTIONS, IGNORED, PART

CLASSES = ("TFOpLambda", "SlicingOpLambda")
KEPT = ("name", "dtype", "trainable")


def as_tf_op(layer: Layer) -> Layer:
    """A KerasOp layer as the TF-op layer of its table function (others unchanged).

    Its positional arguments after the first take the function's parameters in order; its
    settings are renamed to the parameters they are. An operation outside the table keeps
    its name as the function, which `problems` refuses.
    """
    if layer.class_name != KERAS_OP:
        return layer
    operation = OPERATIONS.get(str(layer.config[OPERATION]))
    if operation is None or len(layer.calls) != 1:
        source = f"keras.ops {layer.config[OPERATION]}"
        return replace(layer, class_name=CLASSES[0], config={
            **layer.config, "function": source, "source": source})
    call = layer.calls[0]
    kwargs = dict(call.kwargs)
    params = FUNCTIONS[operation.function].params
    kwargs |= dict(zip(params[1:], kwargs.pop(EXTRA_ARGS, []), strict=False))
    kwargs |= settings(layer.config, operation)
    return Layer(layer.name, CLASSES[0], {"name": layer.name, "function": operation.function,
                                          "source": f"keras.ops {layer.config[OPERATION]}"},
                 (replace(call, kwargs=kwargs),))


def source_of(layer: Layer) -> str:
    """How the file wrote a TF-op layer: tf.math.add, keras.ops numpy.Add."""
    return str(layer.config.get("source") or f"tf.{layer.config['function']}")


def problems(layer: Layer) -> list[str]:
    """Why a TF-op layer cannot become a table function (empty: it can)."""
    function, source = str(layer.config.get("function")), source_of(layer)
    if function not in FUNCTIONS:
        return [f"{source}: not a function converter computes (its table: arithmetic, "
                "tf.math reductions, tf.nn activations, reshape, transpose, concat, split, "
                "expand_dims, squeeze, tile, getitem with constant slices)"]
    if len(layer.calls) != 1:
        return [f"{source} called {len(layer.calls)} times"]
    params = FUNCTIONS[function].params
    extra = [k for k in layer.calls[0].kwargs if k not in (*params, *IGNORED, FIRST)]
    return [f"{source} with the argument {key!r}" for key in extra]


def arguments(layer: Layer) -> dict[str, Any]:
    """The function's arguments by name, the call's first argument under the first one."""
    call = layer.calls[0]
    first_param = FUNCTIONS[str(layer.config["function"])].params[0]
    firsts = [{TENSOR: i} for i in first_indices(call.inputs, call.kwargs)]
    first = call.kwargs[FIRST] if FIRST in call.kwargs else (
        firsts if call.list_input else firsts[0])
    named = {k: v for k, v in call.kwargs.items() if k not in (*IGNORED, FIRST)}
    return {first_param: first, **named}


def pieces(layer: Layer, graph: ModelGraph) -> int:
    """How many tensors a TF-op layer's output is read as (a split's pieces)."""
    reads = [r for x in graph.layers for c in x.calls for r in c.inputs] + list(graph.outputs)
    return 1 + max((r.tensor_index for r in reads if r.layer == layer.name), default=0)


def table_layers(layer: Layer, count: int) -> list[Layer]:
    """The TFOp layer(s) of one TF-op layer: one per piece of its output."""
    config = {k: layer.config[k] for k in KEPT if k in layer.config}
    base = {**config, "function": layer.config["function"], ARGUMENTS: arguments(layer)}
    call = (LayerCall(layer.calls[0].inputs, True),)
    if count == 1:
        return [Layer(layer.name, "TFOp", base, call)]
    return [Layer(piece_name(layer.name, i), "TFOp",
                  {**base, "name": piece_name(layer.name, i),
                   ARGUMENTS: {**base[ARGUMENTS], PART: i}}, call) for i in range(count)]


def piece_name(name: str, index: int) -> str:
    """The layer computing piece `index` of a split."""
    return name if index == 0 else f"{name}_piece{index}"


class TfOpLayers:
    """See the module docstring."""

    name = "tf_op_layers"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Replace every TF-op layer; refuse, all at once, those that cannot be."""
        if not any(x.class_name in (*CLASSES, KERAS_OP) for x in graph.layers):
            return PassResult(graph, False)
        graph = replace(graph, layers=tuple(as_tf_op(x) for x in graph.layers))
        found = [x for x in graph.layers if x.class_name in CLASSES]
        refused = [(x.name, why) for x in found for why in problems(x)]
        if refused:
            raise UnsupportedLayersError(refused, (
                "converter never runs code from a model file; rewrite these operations with "
                "built-in Keras layers (Add, Multiply, Activation, Reshape, Permute, "
                "Concatenate, Cropping1D) and save the model again"))
        counts = {x.name: pieces(x, graph) for x in found}
        moved = {TensorRef(name, 0, i): TensorRef(piece_name(name, i))
                 for name, count in counts.items() for i in range(1, count)}
        layers: list[Layer] = []
        for layer in graph.layers:
            layer = reading(layer, moved)
            layers.extend(table_layers(layer, counts[layer.name]) if layer.name in counts
                          else [layer])
        outputs = tuple(moved.get(r, r) for r in graph.outputs)
        changes = tuple(f"{x.name}: {source_of(x)} -> TFOp"
                        + (f" ({counts[x.name]} pieces)" if counts[x.name] > 1 else "")
                        for x in found)
        return PassResult(replace(graph, layers=tuple(layers), outputs=outputs), True, changes)


PASS = TfOpLayers()
