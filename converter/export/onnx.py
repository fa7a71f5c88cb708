"""ONNX export through tf2onnx from the same serving function as TFLite."""

from __future__ import annotations

import logging
from typing import Any

from converter.artifacts import InputSpec
from converter.errors import ExportError


def to_onnx(function: Any, specs: tuple[InputSpec, ...], opset: int) -> bytes:
    """Convert the serving function to a serialised ONNX ModelProto (tf2onnx's own output)."""
    import tensorflow as tf
    import tf2onnx

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    signature = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=s.name) for s in specs]
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
    except Exception as exc:  # tf2onnx raises plain ValueError/RuntimeError/KeyError
        raise ExportError(f"tf2onnx refused the model at opset {opset}: {exc}"[:500]) from None
    return proto.SerializeToString()
