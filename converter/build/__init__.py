"""Build stage: a normalised ModelGraph -> a Keras 3 model, without any Keras deserialiser.

Each layer is instantiated from its canonical config with the Keras 3 class of that name
(or its catalogue entry's export class, which computes the same numbers with static
shapes), called once per recorded call in dependency order (a shared layer's later calls
may depend on layers after its first), then given its weights from the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import BuildError, UnsupportedLayersError
from converter.graph.call_args import call_arguments
from converter.layers import export_classes, spec_of
from converter.layers.activation import KERAS_FUNCTIONS
from converter.load.signature import SIGNATURE_LAYER, SignatureCaller

REMEDY = (
    "converter never imports code a model file names. If you trust the code these layers "
    "come from, pass their classes with --custom-objects module:Class (or custom_objects= "
    "in the API); otherwise rewrite them with built-in Keras layers."
)


def layer_classes(graph: ModelGraph, custom: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Keras 3 class of every layer; all unknown classes are reported at once."""
    import keras

    classes, missing = {}, []
    for layer in graph.layers:
        if layer.class_name == SIGNATURE_LAYER:
            continue
        cls = (custom or {}).get(layer.class_name) or getattr(keras.layers, layer.class_name, None)
        if isinstance(cls, type) and issubclass(cls, keras.layers.Layer):
            classes[layer.class_name] = cls
        else:
            missing.append((layer.name, f"class {layer.class_name} is not a Keras 3 layer"))
    if missing:
        raise UnsupportedLayersError(missing, REMEDY)
    return classes


def build(
    graph: ModelGraph, custom: Mapping[str, Any] | None = None, allow_lambda: bool = False,
    target: str = "tflite",
) -> Any:
    """Instantiate the graph as a keras.Model with the graph's weights.

    `target` ("tflite" or "onnx") picks the export classes: they differ where a target
    needs its own form (`target_specific`).
    """
    import keras

    signature = next((x for x in graph.layers if x.class_name == SIGNATURE_LAYER), None)
    if signature is not None:  # a SavedModel without Keras metadata: its signature is the model
        import tensorflow as tf

        return SignatureCaller(tf.saved_model.load(signature.config["path"]),
                               signature.config["signature"])
    exported = export_classes(target)
    scope = keras.saving.custom_object_scope({**KERAS_FUNCTIONS, **exported, **(custom or {})})
    with scope, keras.src.saving.serialization_lib.SafeModeScope(not allow_lambda):
        return build_model(graph, {**exported, **(custom or {})})


def build_model(graph: ModelGraph, custom: Mapping[str, Any] | None) -> Any:
    """`build`, inside the scope that resolves converter's own activation functions."""
    import keras

    classes = layer_classes(graph, custom)
    tensors: dict[TensorRef, Any] = {}
    objects: dict[str, Any] = {}
    for layer in graph.layers:
        if layer.class_name == "InputLayer":
            config = layer.config
            tensors[TensorRef(layer.name)] = keras.Input(
                batch_shape=tuple(config["batch_shape"]),
                dtype=config.get("dtype") or "float32",
                name=layer.name,
            )
    order, stuck = graph.call_order()
    if stuck:
        raise BuildError(f"layers {stuck} read tensors no layer produces; the graph is broken")
    for layer, index in order:
        call_layer(layer, index, classes, objects, tensors)
    for layer in graph.layers:
        if layer.name in objects:
            set_weights(layer, objects[layer.name])
    try:
        inputs = [tensors[r] for r in graph.inputs]
        outputs = [tensors[r] for r in graph.outputs]
    except KeyError as exc:
        raise BuildError(f"model endpoint {exc} is not produced by any layer") from exc
    return keras.Model(inputs=inputs, outputs=outputs, name=graph.name)


def call_layer(
    layer: Layer, index: int, classes: dict[str, Any], objects: dict[str, Any],
    tensors: dict[TensorRef, Any],
) -> None:
    """Call one layer once (instantiating it on its first call) and record its outputs."""
    call = layer.calls[index]
    args, kwargs = call_arguments([tensors[r] for r in call.inputs], call.list_input,
                                  call.kwargs)
    if layer.name not in objects:
        config = buildable({**layer.config, "name": layer.name})
        try:
            objects[layer.name] = classes[layer.class_name].from_config(config)
        except (TypeError, ValueError) as exc:
            raise BuildError(f"layer {layer.name} ({layer.class_name}): {exc}") from exc
    try:
        result = objects[layer.name](*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise BuildError(
            f"layer {layer.name} ({layer.class_name}) cannot be called: {exc}") from exc
    results = result if isinstance(result, (list, tuple)) else [result]
    for position, tensor in enumerate(results):
        tensors[TensorRef(layer.name, index, position)] = tensor


def buildable(config: dict[str, Any]) -> dict[str, Any]:
    """A layer config as build instantiates it.

    Activation names that only converter defines become the functions, and initializers
    become zeros.

    Every weight is then set from the graph (`set_weights` refuses a layer whose weights
    the file does not hold), so drawing random values first (a recurrent kernel's
    orthogonal one takes a QR decomposition) would be work thrown away.
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, str) and value in KERAS_FUNCTIONS and "activation" in key:
            out[key] = KERAS_FUNCTIONS[value]
        elif key.endswith("_initializer") and value is not None:
            out[key] = "zeros"
        elif isinstance(value, dict):
            out[key] = buildable(value)
        else:
            out[key] = value
    return out


def set_weights(layer: Layer, obj: Any) -> None:
    """Give a built layer its weights, naming the layer and both shape lists on a mismatch."""
    expected = [tuple(w.shape) for w in obj.weights]
    found = [tuple(w.shape) for w in layer.weights]
    if expected != found:
        raise BuildError(
            f"layer {layer.name} ({layer.class_name}) expects weights of shapes {expected}, "
            f"the file holds {found}"
        )
    if found:
        obj.set_weights(list(layer.weights))


def build_targets(
    graphs: Mapping[str, ModelGraph], custom: Mapping[str, Any], allow_lambda: bool,
) -> dict[str, Any]:
    """A built model per target of `graphs` ({"tflite": graph, "onnx": graph}).

    The targets share one model unless they need it apart: a graph of their own (TFLite's
    unrolled recurrent layers) or export classes that differ by target.
    """
    models: dict[str, Any] = {}
    if "tflite" in graphs:
        models["tflite"] = build(graphs["tflite"], custom, allow_lambda)
    if "onnx" in graphs:
        shared = "tflite" in models and graphs["tflite"] is graphs["onnx"] and not (
            target_specific(graphs["onnx"]))
        models["onnx"] = models["tflite"] if shared else build(
            graphs["onnx"], custom, allow_lambda, "onnx")
    return models


def target_specific(graph: ModelGraph) -> bool:
    """Whether the export classes differ by target for some layer of this graph (its
    catalogue entry's `export_differs`: causal or dilated "same" convs, recurrent layers)."""
    return any(spec_of(layer.class_name).export_differs(layer.config) for layer in graph.layers)
