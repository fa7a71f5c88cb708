"""The one tf.function every exporter converts: explicit input signature, named outputs."""

from __future__ import annotations

from typing import Any

from converter.artifacts import InputSpec


def serving_function(model: Any, specs: tuple[InputSpec, ...], outputs: tuple[str, ...]) -> Any:
    """A tf.function with one named TensorSpec per input returning {output name: tensor}.

    Batch and dynamic axes stay None, so TFLite and ONNX files keep them dynamic; input and
    output names become the TFLite signature's and the ONNX graph's names.
    """
    import tensorflow as tf

    signature = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=s.name) for s in specs]

    def call(*tensors: Any) -> dict[str, Any]:
        result = model(list(tensors) if len(tensors) > 1 else tensors[0], training=False)
        results = result if isinstance(result, (list, tuple)) else [result]
        return {name: tensor for name, tensor in zip(outputs, results, strict=True)}

    return tf.function(call, input_signature=signature, autograph=False)
