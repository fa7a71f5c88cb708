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
from converter.load.infer_shape import infer_input_shape

SHAPE_KEYS = ("batch_input_shape", "batch_shape", "input_shape")
FUNCTIONAL = ("Functional", "Model")


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
    for entry in config["layers"]:
        name = layer_name(entry)
        calls = tuple(parse_node(node, name) for node in entry.get("inbound_nodes", []))
        layers.append(
            Layer(name, entry["class_name"], dict(entry["config"]), calls, weights.get(name, ()))
        )
    return ModelGraph(
        tuple(layers),
        endpoint_refs(config.get("input_layers", [])),
        endpoint_refs(config.get("output_layers", [])),
        str(config.get("name", "model")),
    )


def endpoint_refs(spec: Sequence[Any]) -> tuple[TensorRef, ...]:
    """`input_layers`/`output_layers`: a list of [name, node, tensor] or one such triple."""
    if spec and isinstance(spec[0], str):
        spec = [spec]
    return tuple(TensorRef(str(n), int(c), int(t)) for n, c, t, *_ in spec)


def parse_node(node: Any, owner: str) -> LayerCall:
    """One inbound node, Keras 3 ({"args", "kwargs"}) or Keras 2 ([[name, node, tensor, kw]])."""
    if isinstance(node, Mapping):
        args = node.get("args", [])
        if not args:
            raise LoadError(f"layer {owner}: an inbound node has no arguments")
        first = args[0]
        refs = [keras3_ref(t, owner) for t in (first if isinstance(first, list) else [first])]
        kwargs = {k: v for k, v in node.get("kwargs", {}).items() if not holds_tensor(v)}
        return LayerCall(tuple(refs), isinstance(first, list), kwargs)
    if isinstance(node, list) and node and all(isinstance(x, list) for x in node):
        refs = [TensorRef(str(x[0]), int(x[1]), int(x[2])) for x in node]
        kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
        return LayerCall(tuple(refs), len(node) > 1, {k: v for k, v in kwargs.items()
                                                      if not holds_tensor(v)})
    raise LoadError(f"layer {owner}: inbound node {str(node)[:80]} is in no known Keras format")


def keras3_ref(tensor: Any, owner: str) -> TensorRef:
    """The TensorRef of a serialised Keras 3 `__keras_tensor__`."""
    try:
        name, call, index = tensor["config"]["keras_history"]
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadError(
            f"layer {owner}: an input is not a Keras tensor: {str(tensor)[:80]}") from exc
    return TensorRef(str(name), int(call), int(index))


def holds_tensor(value: Any) -> bool:
    """Whether a call keyword carries tensors (masks), which Keras 3 propagates itself."""
    if isinstance(value, Mapping):
        return value.get("class_name") == "__keras_tensor__" or any(
            holds_tensor(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(holds_tensor(v) for v in value)
    return False
