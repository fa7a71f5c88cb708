"""Turn a saved Keras model config (Keras 2 or Keras 3 dialect) into a ModelGraph.

Only structure is read here: which layer consumed which tensor, per call. Layer configs are
kept verbatim in the source's vocabulary; the normalisation passes canonicalise them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef
from converter.errors import LoadError, UnsupportedLayersError
from converter.graph.call_args import EXTRA_ARGS, FIRST, templated
from converter.layers import spec_of
from converter.layers.keras_ops import CLASS as KERAS_OP
from converter.layers.keras_ops import OPERATION
from converter.load.infer_shape import infer_input_shape

SHAPE_KEYS = ("batch_input_shape", "batch_shape", "input_shape")
FUNCTIONAL = ("Functional", "Model")
# Where Keras 3 keeps the operations it records as layers (`x + y` on Keras tensors).
OPS_MODULE = "keras.src.ops."
# tf.keras's marker of a first call argument that is a constant, not a tensor.
CONSTANT = "_CONSTANT_VALUE"


Weights = Mapping[str, tuple[np.ndarray, ...]]
WeightNames = Mapping[str, tuple[str, ...]]


def graph_from_config(
    model_config: Mapping[str, Any], weights: Weights, names: WeightNames | None = None,
    allow_lambda: bool = False,
) -> ModelGraph:
    """Build the graph of a Sequential or Functional config, attaching each layer's weights.

    `names` are the stored weight names per layer (legacy HDF5 only). A Keras 1 Sequential
    config is a bare list of layers.
    """
    class_name = model_config.get("class_name")
    config = model_config.get("config")
    if class_name == "Sequential" and isinstance(config, list):
        config = {"layers": config, "name": "sequential"}
    if not isinstance(config, Mapping) or not isinstance(config.get("layers"), list):
        raise LoadError(f"model config of class {class_name!r} has no layer list")
    refuse_unknown_entries(config["layers"])
    refuse_catalogued(config["layers"])
    if not allow_lambda:
        refuse_code_layers(config["layers"])
    names = names or {}
    if class_name == "Sequential":
        graph = sequential_graph(config, weights)
    elif class_name in FUNCTIONAL:
        graph = functional_graph(config, weights)
    else:
        raise UnsupportedLayersError(
            [(str(config.get("name", "model")), f"model class {class_name}")],
            "Only Sequential and Functional models can be converted; save a subclassed model's "
            "computation as a Functional model first.",
        )
    layers = tuple(replace(x, weight_names=names.get(x.name, ())) for x in graph.layers)
    return replace(graph, layers=layers)


def refuse_unknown_entries(layers: Sequence[Any]) -> None:
    """Every layer entry must be an object with a class name and a config object."""
    for entry in layers:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("class_name"), str) or (
            not isinstance(entry.get("config"), Mapping)
        ):
            raise LoadError(f"a layer entry is not a Keras layer config: {str(entry)[:80]}")


def refuse_catalogued(layers: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, all at once, layers whose catalogue entry says converter cannot export them."""
    refused = [(layer_name(entry), f"{entry['class_name']}: {spec_of(entry['class_name']).refusal}")
               for entry in layers if spec_of(entry["class_name"]).refusal]
    if refused:
        raise UnsupportedLayersError(refused, "Each reason above says what to do instead.")


def refuse_code_layers(layers: Sequence[Mapping[str, Any]]) -> None:
    """Refuse, all at once, layers whose behaviour is code stored in the file."""
    lambdas = [
        (layer_name(entry), "Lambda: its function is marshalled Python bytecode")
        for entry in layers
        if entry.get("class_name") == "Lambda"
    ]
    if lambdas:
        raise UnsupportedLayersError(
            lambdas,
            "converter never executes code from a model file; rewrite each Lambda as a "
            "built-in layer and save the model again, or pass --allow-lambda if you trust "
            "this file (its bytecode is then run by Keras, and the report says so).",
        )


def layer_name(entry: Mapping[str, Any]) -> str:
    """The name of a layer entry, Keras 2 or Keras 3 style."""
    name = entry.get("name") or entry.get("config", {}).get("name")
    if not isinstance(name, str):
        raise LoadError(f"a layer of class {entry.get('class_name')!r} has no name")
    return name


def sequential_graph(
    config: Mapping[str, Any], weights: Mapping[str, tuple[np.ndarray, ...]]
) -> ModelGraph:
    """A Sequential model as a chain, with an explicit InputLayer in front."""
    entries = list(config["layers"])
    if not entries:
        raise LoadError("the Sequential model has no layers")
    layers: list[Layer] = []
    note = ""
    if entries[0].get("class_name") != "InputLayer":
        first = dict(entries[0]["config"])
        shape = next((first.pop(k) for k in SHAPE_KEYS if k in first), None)
        if shape is None:
            shape = config.get("build_input_shape")
        if shape is None:
            shape, how = infer_input_shape(entries, weights, layer_name)
            note = f"input shape {shape} inferred: {how}"
        input_name = f"{layer_name(entries[0])}_input"
        dtype = first.get("dtype", first.get("input_dtype", "float32"))
        input_config = {"name": input_name, "batch_shape": list(shape), "dtype": dtype}
        layers.append(Layer(input_name, "InputLayer", input_config))
        entries[0] = {**entries[0], "config": first}
    for entry in entries:
        name, class_name = layer_name(entry), entry["class_name"]
        calls = () if class_name == "InputLayer" else (LayerCall((TensorRef(layers[-1].name),)),)
        layers.append(Layer(name, class_name, dict(entry["config"]), calls, weights.get(name, ())))
    return ModelGraph(
        tuple(layers), (TensorRef(layers[0].name),), (TensorRef(layers[-1].name),),
        str(config.get("name", "sequential")), input_note=note,
    )


def functional_graph(
    config: Mapping[str, Any], weights: Mapping[str, tuple[np.ndarray, ...]]
) -> ModelGraph:
    """A Functional model: every inbound node becomes one LayerCall."""
    layers = []
    names = frozenset(layer_name(entry) for entry in config["layers"])
    for entry in config["layers"]:
        name = layer_name(entry)
        calls = tuple(parse_node(node, name, names) for node in entry.get("inbound_nodes", []))
        layers.append(Layer(name, *operation_entry(entry), calls, weights.get(name, ())))
    return ModelGraph(
        tuple(layers),
        endpoint_refs(config.get("input_layers", [])),
        endpoint_refs(config.get("output_layers", [])),
        str(config.get("name", "model")),
    )


def operation_entry(entry: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(class name, config) of a layer entry.

    A Keras 3 operation recorded as a layer (module `keras.src.ops.numpy`, class `Add`) is a
    KerasOp naming it (`layers.keras_ops`).
    """
    module, config = str(entry.get("module") or ""), dict(entry["config"])
    if not module.startswith(OPS_MODULE):
        return str(entry["class_name"]), config
    return KERAS_OP, {**config, OPERATION: f"{module.rsplit('.', 1)[-1]}.{entry['class_name']}"}


def endpoint_refs(spec: Sequence[Any]) -> tuple[TensorRef, ...]:
    """`input_layers`/`output_layers`: a list of [name, node, tensor] or one such triple."""
    if spec and isinstance(spec[0], str):
        spec = [spec]
    return tuple(TensorRef(str(n), int(c), int(t)) for n, c, t, *_ in spec)


def parse_node(node: Any, owner: str, names: frozenset[str] = frozenset()) -> LayerCall:
    """One inbound node, Keras 3 ({"args", "kwargs"}) or Keras 2 ([[name, node, tensor, kw]]).

    Tensors passed beyond the first argument become placeholders (`graph.call_args`);
    tensors passed as `mask` are left out: Keras propagates masks itself. tf.keras writes a
    TF-op layer's node as one flat entry ([name, node, tensor, kw]) and a first argument
    that is no tensor as ["_CONSTANT_VALUE", -1, value, kw]. `names`: the model's layers, which
    tell a Keras 2 tensor reference ([layer, node, tensor]) from a list of numbers.
    """
    if isinstance(node, Mapping):
        return keras3_call(node, owner)
    if isinstance(node, list) and len(node) >= 3 and isinstance(node[0], str):
        node = [node]
    if isinstance(node, list) and node and all(isinstance(x, list) for x in node):
        return keras2_call(node, owner, names)
    raise LoadError(f"layer {owner}: inbound node {str(node)[:80]} is in no known Keras format")


def keras3_call(node: Mapping[str, Any], owner: str) -> LayerCall:
    """A Keras 3 node: the first argument's tensors, the rest as placeholders."""
    args = list(node.get("args", []))
    kwargs = {k: v for k, v in node.get("kwargs", {}).items() if not (
        k == "mask" and holds_tensor(v))}
    if not args and not kwargs:
        raise LoadError(f"layer {owner}: an inbound node has no arguments")
    refs: list[TensorRef] = []
    first = args[0] if args else None
    listed = isinstance(first, list)
    items: list[Any] = first if isinstance(first, list) else [first]
    if args and all(keras3_tensor(t) is not None for t in items):
        refs = [keras3_ref(t, owner) for t in items]
    elif args:
        kwargs[FIRST] = first
    if len(args) > 1:
        kwargs[EXTRA_ARGS] = args[1:]
    template = templated(kwargs, keras3_tensor, refs)
    return LayerCall(tuple(refs), listed, template)


def keras2_call(node: list[Any], owner: str, names: frozenset[str]) -> LayerCall:
    """A Keras 2 node: one [layer, node, tensor, kwargs] entry per first-argument tensor."""
    raw = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    kwargs = {k: v for k, v in raw.items() if not (k == "mask" and isinstance(v, list))}
    refs: list[TensorRef] = []
    if node[0][0] == CONSTANT:
        kwargs[FIRST] = node[0][2]
    else:
        try:
            refs = [TensorRef(str(x[0]), int(x[1]), int(x[2])) for x in node]
        except (TypeError, ValueError, IndexError) as exc:
            raise LoadError(f"layer {owner}: inbound node {str(node)[:80]} names no tensor"
                            ) from exc

    def as_tensor(value: Any) -> TensorRef | None:
        if isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str) and (
                value[0] in names and all(isinstance(v, int) for v in value[1:3])):
            return TensorRef(str(value[0]), int(value[1]), int(value[2]))
        return None

    template = templated(kwargs, as_tensor, refs)
    return LayerCall(tuple(refs), len(node) > 1, template)


def keras3_tensor(value: Any) -> TensorRef | None:
    """The ref of a serialised Keras 3 tensor; None for any other value."""
    if isinstance(value, Mapping) and value.get("class_name") == "__keras_tensor__":
        return keras3_ref(value, "")
    return None


def keras3_ref(tensor: Any, owner: str) -> TensorRef:
    """The TensorRef of a serialised Keras 3 `__keras_tensor__`."""
    try:
        name, call, index = tensor["config"]["keras_history"]
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadError(
            f"layer {owner}: an input is not a Keras tensor: {str(tensor)[:80]}") from exc
    return TensorRef(str(name), int(call), int(index))


def holds_tensor(value: Any) -> bool:
    """Whether a call keyword carries Keras 3 tensors (a mask)."""
    if isinstance(value, Mapping):
        return value.get("class_name") == "__keras_tensor__" or any(
            holds_tensor(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(holds_tensor(v) for v in value)
    return False
