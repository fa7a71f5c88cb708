"""ONNX export through tf2onnx from the same serving function as TFLite."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from converter.artifacts import InputSpec
from converter.errors import ExportError
from converter.export.onnx_recurrent import recurrent_node
from converter.layers.recurrent_onnx import MARKER_OP


@contextmanager
def without_merge() -> Iterator[None]:
    """tf2onnx's optimizers without its duplicate merge, for the block's conversions.

    tf2onnx keeps either name of two merged nodes (a BiLSTM's forward or backward slice)
    from run to run, so the bytes would differ; onnx_graph.merge_duplicates merges them
    after putting the graph in a canonical order, always the same way. from_function takes
    no optimizer list, so the registry is edited in place and restored.
    """
    from tf2onnx import optimizer

    registry = getattr(optimizer, "_optimizers", None)
    saved = dict(registry) if registry is not None else {}
    if registry is not None:
        registry.pop("merge_duplication", None)
    try:
        yield
    finally:
        if registry is not None:
            registry.clear()
            registry.update(saved)


def to_onnx(function: Any, specs: tuple[InputSpec, ...], opset: int) -> bytes:
    """Convert the serving function to a serialised ONNX ModelProto (tf2onnx's own output)."""
    import tensorflow as tf
    import tf2onnx

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    signature = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=s.name) for s in specs]
    handlers = {MARKER_OP: (recurrent_node, ())}  # GRU/RNN/LSTM tf2onnx cannot fuse
    try:
        with without_merge():
            proto, _ = tf2onnx.convert.from_function(function, input_signature=signature,
                                                     opset=opset, custom_op_handlers=handlers)
    except Exception as exc:  # tf2onnx raises plain ValueError/RuntimeError/KeyError
        raise ExportError(f"tf2onnx refused the model at opset {opset}: {exc}"[:500]) from exc
    data: bytes = proto.SerializeToString()
    return data
