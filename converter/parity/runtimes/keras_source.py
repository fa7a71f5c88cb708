"""The reference: the original model file, loaded by the library that wrote it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from converter.parity.runtimes.base import Accepts, Defaults


class KerasSource(Defaults):
    """Keras 3 for .keras and Keras 3 .h5 files, tf.keras (tf-keras) for Keras 2 files."""

    name = "keras"
    accepts: Accepts = "source"
    install_hint = "pip install 'keras>=3.15,<3.16' 'tf-keras>=2.21,<2.22'"

    def __init__(self) -> None:
        self.model: Any = None
        self.custom: dict[str, Any] = {}
        self.allow_lambda = False

    def configure(self, custom_objects: Sequence[str], allow_lambda: bool) -> None:
        """The user's --custom-objects classes and --allow-lambda opt-in."""
        from converter.load.custom_objects import resolve_custom_objects

        self.custom = resolve_custom_objects(custom_objects)
        self.allow_lambda = allow_lambda

    def load(self, path: str, loader: str) -> None:
        """Load without compiling and, for Keras 3, in safe mode (no bytecode)."""
        if loader == "tf_saved_model":
            import tensorflow as tf

            from converter.load.signature import SignatureCaller

            self.model = SignatureCaller(tf.saved_model.load(path))
            return
        model = source_model(path, loader, self.custom, self.allow_lambda)
        self.model = model if loader == "tf_keras" else traced_if_recurrent(model)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Call the model in inference mode; inputs are positional, in the graph's order."""
        return call_model(self.model, feeds)


def source_model(path: str, loader: str, custom: dict[str, Any], allow_lambda: bool) -> Any:
    """The original Keras model ("tf_keras" or "keras" loader), every layer in inference mode.

    Loaded without compiling, and in safe mode (no bytecode) unless `allow_lambda`.
    """
    if loader == "tf_keras":
        import tf_keras

        load = tf_keras.models.load_model
    else:
        import keras

        load = keras.saving.load_model
    try:
        model = load(path, compile=False, custom_objects=custom or None,
                     safe_mode=not allow_lambda)
    except Exception:
        if not expanded_libraries():
            raise
        model = load(path, compile=False, custom_objects=custom or None,
                     safe_mode=not allow_lambda)
    return in_inference_mode(model)


def expanded_libraries() -> list[str]:
    """Import the installed libraries whose layers converter expands (keras-tcn's `tcn`).

    Their classes then register with Keras, so the original can run as the reference.
    Returns the modules imported (none: nothing to retry with).
    """
    import importlib
    import importlib.util

    from converter.extensions import installed

    modules = {getattr(e, "reference_module", "") for e in installed().by_class.values()}
    found = [m for m in sorted(modules) if m and importlib.util.find_spec(m) is not None]
    for module in found:
        importlib.import_module(module)
    return found


def in_inference_mode(model: Any) -> Any:
    """The model with every layer called in inference mode, whatever its file recorded.

    A layer called with training=True in the model's graph (Monte-Carlo dropout) ignores
    the model call's training=False in tf.keras, so the source would be random; each
    layer whose call takes `training` is made to get False. The export is the inference
    form (`normalize.call_arguments`), and this makes the reference the same.
    """
    import inspect

    for layer in model._flatten_layers(include_self=False):
        call = layer.call
        if "training" not in inspect.signature(call).parameters:
            continue

        def inference(*args: Any, _call: Any = call, **kwargs: Any) -> Any:
            return _call(*args, **{**kwargs, "training": False})

        layer.call = inference
    return model


def traced_if_recurrent(model: Any) -> Any:
    """A Keras 3 model with recurrent layers as one traced function, others as they are.

    Called eagerly, Keras 3 steps a recurrent layer in Python: 10,000 steps of a small
    CNN-LSTM take 122 s eagerly, 1.3 s traced. Traced, each new input shape costs a trace,
    which a model without recurrent layers would not win back. One trace per shape: traced
    once at a relaxed (None) length, a SimpleRNN model gave other numbers than eagerly
    (max abs 1.1 at 97 steps, random model seed 33).
    """
    import keras
    import tensorflow as tf

    layers = model._flatten_layers() if isinstance(model, keras.Model) else ()
    if not any(isinstance(layer, keras.layers.RNN) for layer in layers):
        return model
    traced = tf.function(lambda inputs: model(inputs, training=False))
    return lambda inputs, training=False: traced(inputs)


def call_model(model: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Call a Keras-like model on positional inputs; its outputs as a list of arrays."""
    values = list(feeds.values())
    result = model(values if len(values) > 1 else values[0], training=False)
    results = result if isinstance(result, (list, tuple)) else [result]
    return [np.asarray(r) for r in results]
