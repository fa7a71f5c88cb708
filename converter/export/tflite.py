"""TFLite export: builtin ops only, so the file runs on every LiteRT build and delegate."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from converter.errors import ExportError
from converter.export.fused_lstm import custom_ops, fuse_marked_lstms
from converter.layers.recurrent_fused import MARKER as LSTM_MARKER
from converter.process.stderr_capture import captured_stderr


def to_tflite(
    function: Any, precision: str, calibration: list[dict[str, np.ndarray]]
) -> bytes:
    """Convert the serving function to a .tflite flatbuffer at the given precision.

    fp16 stores weights as float16; int8-dynamic stores weights as int8 and quantises
    activations at run time; int8 quantises weights and activations with ranges calibrated
    on `calibration` (inputs and outputs stay float32, so the file is a drop-in for fp32).

    The function is frozen first, so weights become constants the converter can fold
    (left as resource variables they cost a VAR_HANDLE and READ_VARIABLE op each).
    The converter's MLIR diagnostics are captured and the first error line becomes the
    message, instead of a page of call sites on the user's terminal.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    try:
        frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    except (ValueError, TypeError) as exc:
        raise ExportError(f"the model's graph cannot be frozen for TFLite: "
                          f"{str(exc).splitlines()[0][:300]}") from exc
    # The converter saves the function with its trackable object as a SavedModel and reads it
    # back (its fuller path: converting the graph directly leaves an ADD per loop body and
    # float16 DEQUANTIZEs unfolded). The frozen function owns no variables, so an empty
    # module is all it needs: saved with the Keras model instead, every layer's call was
    # traced again (FactorNet's export 3.9 s -> 2.6 s, the files byte-identical).
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    # marked LSTMs pass through as custom ops and leave as fused builtins (fused_lstm)
    converter.allow_custom_ops = any(op.type == LSTM_MARKER for op in frozen.graph.get_operations())
    quantize(converter, precision, calibration)
    failure = None
    with captured_stderr() as log:
        try:
            data = bytes(converter.convert())
        except Exception as exc:  # the converter raises its own ConverterError/RuntimeError
            failure = str(exc)
    if failure is not None:
        reason = first_error(failure + "\n" + log.text)
        raise ExportError(f"the TFLite converter refused the model: {reason}")
    return without_markers(data)


def without_markers(data: bytes) -> bytes:
    """The file with its marked LSTMs fused; refused if another custom op came through."""
    data = fuse_marked_lstms(data)
    left = custom_ops(data)
    if left:
        raise ExportError(f"the TFLite converter refused the model: 'tf.{left[0]}' op is "
                          f"neither a custom op nor a flex op (converter writes builtin ops "
                          f"only)")
    return data


def quantize(converter: Any, precision: str, calibration: list[dict[str, np.ndarray]]) -> None:
    """Set the converter's optimisation options for a precision."""
    import tensorflow as tf

    if precision == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        if not calibration:
            raise ExportError("full int8 needs calibration inputs: pass --calibration data.npz")
        converter.representative_dataset = lambda: iter(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def first_error(text: str) -> str:
    """The first op-level error of an MLIR diagnostic dump, without its call-site noise."""
    op_error = re.search(r"'(?:tf|tfl)\.\w+' op [^\n]*", text)
    if op_error:
        return op_error.group(0)[:300]
    for line in text.splitlines():
        if "error:" in line:
            return line[line.index("error:") + len("error:"):].strip()[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else "no reason given"
