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

# tf2onnx reads this variable's presence (whatever its value) as "do not catch optimizer errors"
CATCH_ERRORS = "TF2ONNX_CATCH_ERRORS"


@contextmanager
def optimizers(catch_errors: bool) -> Iterator[None]:
    """tf2onnx's optimizers without its duplicate merge, and without its copies if asked.

    tf2onnx keeps either name of two merged nodes (a BiLSTM's forward or backward slice)
    from run to run, so the bytes would differ; onnx_graph.merge_duplicates merges them
    after putting the graph in a canonical order, always the same way. from_function takes
    no optimizer list, so the registry is edited in place and restored.

    Catching errors, tf2onnx deep-copies the whole graph before each optimizer on each
    round, to fall back to the copy where one raises: a third of its time on the samples
    (20 exports: 2.3 s -> 1.4 s of CPU without, the graphs equal node for node).
    """
    import os

    from tf2onnx import optimizer

    registry = getattr(optimizer, "_optimizers", None)
    saved = dict(registry) if registry is not None else {}
    before = os.environ.pop(CATCH_ERRORS, None)
    if registry is not None:
        registry.pop("merge_duplication", None)
    if not catch_errors:
        os.environ[CATCH_ERRORS] = "FALSE"
    try:
        yield
    finally:
        os.environ.pop(CATCH_ERRORS, None)
        if before is not None:
            os.environ[CATCH_ERRORS] = before
        if registry is not None:
            registry.clear()
            registry.update(saved)


def to_onnx(function: Any, specs: tuple[InputSpec, ...], opset: int) -> bytes:
    """Convert the serving function to a serialised ONNX ModelProto (tf2onnx's own output).

    First without tf2onnx's safety copies; where one of its optimizers raised, again with
    them, so that optimizer is skipped as a stock conversion skips it.
    """
    import tensorflow as tf

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    signature = [tf.TensorSpec(s.shape, tf.as_dtype(s.dtype), name=s.name) for s in specs]
    try:
        try:
            return converted(function, signature, opset, catch_errors=False)
        except Exception as exc:
            if not raised_in_optimizer(exc):
                raise
        return converted(function, signature, opset, catch_errors=True)
    except Exception as exc:  # tf2onnx raises plain ValueError/RuntimeError/KeyError
        raise ExportError(f"tf2onnx refused the model at opset {opset}: {exc}"[:500]) from exc


def converted(function: Any, signature: list[Any], opset: int, catch_errors: bool) -> bytes:
    """One tf2onnx conversion, its optimizers set by `optimizers`."""
    import tf2onnx

    handlers = {MARKER_OP: (recurrent_node, ())}  # GRU/RNN/LSTM tf2onnx cannot fuse
    with optimizers(catch_errors):
        proto, _ = tf2onnx.convert.from_function(function, input_signature=signature,
                                                 opset=opset, custom_op_handlers=handlers)
    data: bytes = proto.SerializeToString()
    return data


def raised_in_optimizer(exc: BaseException) -> bool:
    """Whether the exception came out of one of tf2onnx's graph optimizers."""
    import traceback

    return any("/tf2onnx/optimizer/" in frame.filename.replace("\\", "/")
               for frame in traceback.extract_tb(exc.__traceback__))
