"""Build stage: a normalised ModelGraph -> a Keras 3 model, without any Keras deserialiser.

Each layer is instantiated from its canonical config with the Keras 3 class of that name,
called once per recorded call in dependency order (a shared layer's later calls may depend
on layers after its first), then given its weights from the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import BuildError, UnsupportedLayersError
from converter.load.savedmodel import SIGNATURE_LAYER, SignatureCaller
from converter.options import ConvertOptions

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


RECURRENT = ("LSTM", "GRU", "SimpleRNN")
# Longest sequence a recurrent layer is unrolled over: beyond it the graph grows too large.
MAX_UNROLL = 1024


def build(
    graph: ModelGraph, unrolled: list[str] | None = None,
    custom: Mapping[str, Any] | None = None, allow_lambda: bool = False,
    target: str = "tflite",
) -> Any:
    """Instantiate the graph as a keras.Model with the graph's weights.

    With `unrolled` (a list to fill), recurrent layers whose sequence length is static are
    built with `unroll=True` (same numbers) and noted there: Keras 3's loop form becomes
    TensorList ops that TFLite builtins cannot express. Without it they keep the loop form,
    which tf2onnx turns into one ONNX LSTM/GRU node.
    """
    import keras

    signature = next((x for x in graph.layers if x.class_name == SIGNATURE_LAYER), None)
    if signature is not None:  # a SavedModel without Keras metadata: its signature is the model
        import tensorflow as tf

        return SignatureCaller(tf.saved_model.load(signature.config["path"]),
                               signature.config["signature"])
    from converter.export_layers import export_classes

    exported = export_classes(target)
    scope = keras.saving.custom_object_scope({**FUNCTIONS, **exported, **(custom or {})})
    with scope, keras.src.saving.serialization_lib.SafeModeScope(not allow_lambda):
        return build_model(graph, unrolled, {**exported, **(custom or {})})


def build_model(
    graph: ModelGraph, unrolled: list[str] | None, custom: Mapping[str, Any] | None
) -> Any:
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
        call_layer(layer, index, classes, objects, tensors, unrolled)
    for layer in graph.layers:
        if layer.name in objects:
            set_weights(layer, objects[layer.name])
    try:
        inputs = [tensors[r] for r in graph.inputs]
        outputs = [tensors[r] for r in graph.outputs]
    except KeyError as exc:
        raise BuildError(f"model endpoint {exc} is not produced by any layer") from None
    return keras.Model(inputs=inputs, outputs=outputs, name=graph.name)


def call_layer(
    layer: Layer,
    index: int,
    classes: dict[str, Any],
    objects: dict[str, Any],
    tensors: dict[TensorRef, Any],
    unrolled: list[str] | None = None,
) -> None:
    """Call one layer once (instantiating it on its first call) and record its outputs."""
    call = layer.calls[index]
    args = [tensors[r] for r in call.inputs]
    if layer.name not in objects:
        config = with_functions({**layer.config, "name": layer.name})
        if unrolled is not None and unroll_static(layer.class_name, config, args):
            unrolled.append(f"{layer.name}: unroll=True over {args[0].shape[1]} static steps "
                            "(TFLite builtins cannot express the loop form)")
        try:
            objects[layer.name] = classes[layer.class_name].from_config(config)
        except (TypeError, ValueError) as exc:
            raise BuildError(f"layer {layer.name} ({layer.class_name}): {exc}") from None
    try:
        result = objects[layer.name](args if call.list_input else args[0], **call.kwargs)
    except (TypeError, ValueError) as exc:
        raise BuildError(
            f"layer {layer.name} ({layer.class_name}) cannot be called: {exc}") from None
    results = result if isinstance(result, (list, tuple)) else [result]
    for position, tensor in enumerate(results):
        tensors[TensorRef(layer.name, index, position)] = tensor


def unroll_static(class_name: str, config: dict[str, Any], args: list[Any]) -> bool:
    """Set unroll=True on a recurrent config (wrapped ones too) whose input length is static."""
    steps = args[0].shape[1] if args and len(args[0].shape) == 3 else None
    if steps is None or steps > MAX_UNROLL:
        return False
    targets = [config] if class_name in RECURRENT else [
        config[key]["config"] for key in ("layer", "backward_layer")
        if class_name == "Bidirectional" and isinstance(config.get(key), dict)
        and config[key].get("class_name") in RECURRENT
    ]
    for target in targets:
        target["unroll"] = True
    return bool(targets)


def keras2_hard_sigmoid(x: Any) -> Any:
    """Keras 1/2's hard sigmoid, clip(0.2 x + 0.5, 0, 1) (Keras 3's has slope 1/6)."""
    import keras

    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


FUNCTIONS = {"keras2_hard_sigmoid": keras2_hard_sigmoid}


def with_functions(config: dict[str, Any]) -> dict[str, Any]:
    """A config whose activation names that only converter defines are the functions."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, str) and value in FUNCTIONS and "activation" in key:
            out[key] = FUNCTIONS[value]
        elif isinstance(value, dict):
            out[key] = with_functions(value)
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
    graph: ModelGraph, options: ConvertOptions, custom: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A built model per requested target, and the recurrent layers unrolled for TFLite.

    The targets share one model unless the graph needs them apart: TFLite wants static-length
    recurrent layers unrolled, ONNX explicit padding on dilated "same" convs.
    """
    from converter.export_layers import target_specific

    unrolled: list[str] = []
    models: dict[str, Any] = {}
    if "tflite" in options.to:
        models["tflite"] = build(graph, unrolled, custom, options.allow_lambda)
    if "onnx" in options.to:
        shared = "tflite" in models and not unrolled and not target_specific(graph)
        models["onnx"] = models["tflite"] if shared else build(
            graph, None, custom, options.allow_lambda, "onnx")
    return models, unrolled
