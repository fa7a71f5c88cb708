"""Build stage: a normalised ModelGraph -> a Keras 3 model, without any Keras deserialiser.

Each layer is instantiated from its canonical config with the Keras 3 class of that name,
called once per recorded call in dependency order (a shared layer's later calls may depend
on layers after its first), then given its weights from the graph.
"""

from __future__ import annotations

from typing import Any

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.errors import BuildError, UnsupportedLayersError

REMEDY = (
    "Rewrite these layers with built-in Keras layers, or convert a model that does not "
    "use them."
)


def layer_classes(graph: ModelGraph) -> dict[str, Any]:
    """The Keras 3 class of every layer; all unknown classes are reported at once."""
    import keras

    classes, missing = {}, []
    for layer in graph.layers:
        cls = getattr(keras.layers, layer.class_name, None)
        if isinstance(cls, type) and issubclass(cls, keras.layers.Layer):
            classes[layer.class_name] = cls
        else:
            missing.append((layer.name, f"class {layer.class_name} is not a Keras 3 layer"))
    if missing:
        raise UnsupportedLayersError(missing, REMEDY)
    return classes


def build(graph: ModelGraph) -> Any:
    """Instantiate the graph as a keras.Model with the graph's weights."""
    import keras

    classes = layer_classes(graph)
    tensors: dict[TensorRef, Any] = {}
    objects: dict[str, Any] = {}
    pending = [(layer, index) for layer in graph.layers for index in range(len(layer.calls))]
    for layer in graph.layers:
        if layer.class_name == "InputLayer":
            config = layer.config
            tensors[TensorRef(layer.name)] = keras.Input(
                batch_shape=tuple(config["batch_shape"]),
                dtype=config.get("dtype") or "float32",
                name=layer.name,
            )
    while pending:
        ready = [(lay, i) for lay, i in pending if all(r in tensors for r in lay.calls[i].inputs)]
        if not ready:
            stuck = sorted({lay.name for lay, _ in pending})
            raise BuildError(f"layers {stuck} read tensors no layer produces; the graph is broken")
        for layer, index in ready:
            call_layer(layer, index, classes, objects, tensors)
        pending = [item for item in pending if item not in ready]
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
) -> None:
    """Call one layer once (instantiating it on its first call) and record its outputs."""
    if layer.name not in objects:
        config = {**layer.config, "name": layer.name}
        try:
            objects[layer.name] = classes[layer.class_name].from_config(config)
        except (TypeError, ValueError) as exc:
            raise BuildError(f"layer {layer.name} ({layer.class_name}): {exc}") from None
    call = layer.calls[index]
    args = [tensors[r] for r in call.inputs]
    try:
        result = objects[layer.name](args if call.list_input else args[0], **call.kwargs)
    except (TypeError, ValueError) as exc:
        raise BuildError(f"layer {layer.name} ({layer.class_name}) cannot be called: {exc}") from None
    results = result if isinstance(result, (list, tuple)) else [result]
    for position, tensor in enumerate(results):
        tensors[TensorRef(layer.name, index, position)] = tensor


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
