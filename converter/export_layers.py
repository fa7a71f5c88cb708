"""Keras 3 layers that compute the same numbers as the stock ones, traced without shape ops.

The stock TensorFlow lowering of some layers computes shapes at run time: a dilated Conv1D
goes through SPACE_TO_BATCH_ND with SHAPE/STRIDED_SLICE chains (about 20 TFLite ops per
layer at a dynamic length), Flatten and Reshape read the batch size with SHAPE, a transposed
conv builds its output shape from SHAPE, and recurrent layers build their zero state from
it (a transposed conv keeps its SHAPE: the zero-interleave rewrite that avoids it would
multiply the conv's work by the stride). LiteRT's GPU accelerator refuses any graph with
such run-time shapes, and they cost time on every runtime. These subclasses emit the same
arithmetic with static shapes:
- Conv1D with dilation or causal padding: one Conv2D with its dilation factor (one
  CONV_2D / Conv);
- Flatten / Reshape: a reshape to (-1, ...) when the other axes are static;
- LSTM / GRU / SimpleRNN: the zero initial state tiled from the input, not sized by SHAPE,
  and at a dynamic length for TFLite a while loop without TensorLists;
- Embedding: one gather, without the negative-id wrapping valid token ids never need;
- Conv1DTranspose at a static length: its polyphase form, one Conv1D with stride x filters
  whose output rows interleave into the transposed conv's (no output_shape from SHAPE, the
  same multiply-adds, and a plain convolution every delegate takes).
`build` uses them for every model; parity against the original proves the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from converter.artifacts import ModelGraph


def export_classes(target: str = "tflite") -> dict[str, Any]:
    """{Keras class name: export-friendly subclass} for a target ("tflite" or "onnx").

    For ONNX a dilated "same" convolution pads explicitly: tf2onnx would write
    auto_pad=SAME_UPPER, which onnxruntime refuses together with dilations.
    """
    import keras
    import tensorflow as tf

    class Conv1D(keras.layers.Conv1D):
        """Dilated or causal Conv1D as one Conv2D on the length axis.

        For TFLite a causal conv pads after the expansion to 4-D: a 3-D PAD of a dynamic
        length in front of EXPAND_DIMS is what LiteRT's GPU accelerator (on Mesa) computes
        wrong, while a 4-D PAD feeding CONV_2D it runs.
        """

        def call(self, inputs: Any) -> Any:
            dilation, causal = self.dilation_rate[0], self.padding == "causal"
            if (dilation == 1 and not causal) or self.groups != 1 or (
                    self.data_format != "channels_last"):
                return super().call(inputs)
            padding = "SAME" if self.padding == "same" else "VALID"
            if causal and target == "onnx":
                inputs = keras.ops.pad(inputs, self._compute_causal_padding())
            elif self.padding == "same" and target == "onnx" and self.strides[0] == 1:
                total = (self.kernel_size[0] - 1) * dilation
                inputs = keras.ops.pad(inputs, [[0, 0], [total // 2, total - total // 2], [0, 0]])
                padding = "VALID"
            expanded = tf.expand_dims(inputs, 1)
            if causal and target == "tflite":
                left = (self.kernel_size[0] - 1) * dilation
                expanded = tf.pad(expanded, [[0, 0], [0, 0], [left, 0], [0, 0]])
            outputs = tf.squeeze(tf.nn.conv2d(
                expanded, tf.expand_dims(self.kernel, 0),
                strides=[1, 1, self.strides[0], 1], padding=padding,
                dilations=[1, 1, dilation, 1]), 1)
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    class Flatten(keras.layers.Flatten):
        """Flatten to (-1, n) when every non-batch axis is static."""

        def call(self, inputs: Any) -> Any:
            rest = inputs.shape[1:]
            if self.data_format == "channels_first" or any(d is None for d in rest):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, math.prod(rest)))

    class Reshape(keras.layers.Reshape):
        """Reshape to (-1, *target) when the target has no unknown axis."""

        def call(self, inputs: Any) -> Any:
            if any(d is None or d == -1 for d in self.target_shape):
                return super().call(inputs)
            return keras.ops.reshape(inputs, (-1, *self.target_shape))

    def recurrent_class(base: Any) -> Any:
        """A recurrent class whose zero initial state is tiled from the input.

        For TFLite at a dynamic length it also runs its own while loop: Keras's loop
        stores steps in TensorLists whose element shape holds the dynamic batch, which TFLite
        builtins refuse; this loop carries the state in loop variables instead.
        """

        class Recurrent(base):  # type: ignore[misc, valid-type]
            def call(self, sequences: Any, initial_state: Any = None, mask: Any = None,
                     training: bool = False) -> Any:
                if initial_state is None and not self.stateful:
                    zero = tf.zeros_like(sequences[:, 0, :1])
                    sizes = self.cell.state_size
                    sizes = sizes if isinstance(sizes, (list, tuple)) else [sizes]
                    # One tile per distinct size: LSTM's equal h and c zeros are one tensor.
                    tiles = {n: tf.tile(zero, [1, n]) for n in dict.fromkeys(map(int, sizes))}
                    initial_state = [tiles[int(n)] for n in sizes]
                if (target == "tflite" and sequences.shape[1] is None and mask is None
                        and not self.stateful and not self.unroll):
                    return self.while_loop(sequences, list(initial_state))
                return super().call(sequences, initial_state=initial_state, mask=mask,
                                    training=training)

            def while_loop(self, sequences: Any, states: list[Any]) -> Any:
                """The recurrence as a tf.while_loop over the dynamic time axis.

                Each step's output is written in place into a time-major buffer
                (SCATTER_ND-style update): an output grown by concatenation changes shape
                every step, and XNNPACK then computes wrong numbers.
                """
                steps = tf.shape(sequences)[1]
                units = int(self.cell.output_size)
                timeline = tf.transpose(sequences[:, :, :1], (1, 0, 2))
                buffer = tf.tile(tf.zeros_like(timeline), [1, 1, units])
                last = tf.tile(tf.zeros_like(sequences[:, 0, :1]), [1, units])

                def body(t: Any, outputs: Any, final: Any, *carried: Any) -> Any:
                    index = steps - 1 - t if self.go_backwards else t
                    output, new = self.cell.call(tf.gather(sequences, index, axis=1),
                                                 list(carried), training=False)
                    new = list(new) if isinstance(new, (list, tuple)) else [new]
                    if self.return_sequences:
                        outputs = tf.tensor_scatter_nd_update(
                            outputs, tf.reshape(t, (1, 1)), output[None])
                    return (t + 1, outputs, output, *new)

                _, outputs, final, *states_out = tf.while_loop(
                    lambda t, *_: t < steps, body, (tf.constant(0), buffer, last, *states))
                result = tf.transpose(outputs, (1, 0, 2)) if self.return_sequences else final
                return [result, *states_out] if self.return_state else result

        Recurrent.__name__ = base.__name__
        return Recurrent

    class Embedding(keras.layers.Embedding):
        """Embedding as one gather, for token ids in range.

        Keras 3's take() first wraps negative ids with LESS / SELECT (3 extra ops in TFLite,
        8 ONNX nodes), which valid token ids never need.
        """

        def call(self, inputs: Any) -> Any:
            if self.mask_zero or getattr(self, "lora_enabled", False) or getattr(
                    self, "quantization_mode", None):
                return super().call(inputs)
            outputs = tf.gather(self.embeddings, tf.cast(inputs, "int32"))
            return tf.cast(outputs, self.compute_dtype)

    class Conv1DTranspose(keras.layers.Conv1DTranspose):
        """Conv1DTranspose at a static length as a Conv1D whose rows interleave."""

        def call(self, inputs: Any) -> Any:
            steps = inputs.shape[1]
            if (steps is None or self.dilation_rate[0] != 1 or self.output_padding is not None
                    or self.data_format != "channels_last"):
                return super().call(inputs)
            plan = polyphase_plan(self.kernel_size[0], self.strides[0], self.padding, steps)
            filters = self.filters
            zero = keras.ops.zeros((1, *self.kernel.shape[1:]), self.kernel.dtype)
            taps = keras.ops.take(keras.ops.concatenate([self.kernel, zero], 0), plan.index, 0)
            # taps (T, stride, out, in) -> kernel (T, in, stride * out), phase-major.
            kernel = keras.ops.reshape(keras.ops.transpose(taps, (0, 3, 1, 2)),
                                       (plan.index.shape[0], -1, plan.stride * filters))
            padded = keras.ops.pad(inputs, [[0, 0], [plan.left, plan.right], [0, 0]])
            rows = tf.nn.conv1d(padded, kernel, 1, "VALID")
            outputs = keras.ops.reshape(rows, (-1, plan.rows * plan.stride, filters))
            if plan.length != plan.rows * plan.stride:
                outputs = outputs[:, :plan.length, :]
            if self.use_bias:
                outputs = outputs + self.bias
            return self.activation(outputs) if self.activation is not None else outputs

    recurrent = {name: recurrent_class(getattr(keras.layers, name))
                 for name in ("LSTM", "GRU", "SimpleRNN")}

    class Bidirectional(keras.layers.Bidirectional):
        """Bidirectional whose inner layers are the classes above (Keras would use its own)."""

        @classmethod
        def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
            config = dict(config)
            for key in ("layer", "backward_layer"):
                inner = config.get(key)
                if isinstance(inner, dict) and inner.get("class_name") in recurrent:
                    config[key] = recurrent[inner["class_name"]].from_config(inner["config"])
            return cls(**config)

    return {"Conv1D": Conv1D, "Conv1DTranspose": Conv1DTranspose, "Embedding": Embedding,
            "Flatten": Flatten,
            "Reshape": Reshape, "Bidirectional": Bidirectional, **recurrent}


@dataclass(frozen=True)
class PolyphasePlan:
    """How a stride-s transposed conv becomes a conv with s phases per output row.

    Output position q*s + p of the transposed conv (after its own cropping) is phase p of
    row q of a plain convolution over the input padded by (left, right), whose tap t for
    phase p is the transposed kernel's tap index[t, p] (index == k: a zero tap).
    """

    index: np.ndarray
    stride: int
    left: int
    right: int
    rows: int
    length: int


def polyphase_plan(kernel: int, stride: int, padding: str, steps: int) -> PolyphasePlan:
    """The polyphase plan of a Keras Conv1DTranspose (dilation 1, no output_padding).

    Keras's lengths: "same" gives steps*stride, cropping max(k - s, 0) // 2 at the start of
    the full (steps - 1) * s + k result; "valid" gives steps*stride + max(k - s, 0), uncropped.
    """
    overhang = max(kernel - stride, 0)
    length, crop = (steps * stride, overhang // 2) if padding == "same" else (
        steps * stride + overhang, 0)
    reach = -(-kernel // stride)
    whole, phase_shift = divmod(crop, stride)
    # Phase p reads taps r*s + p + shift: r from -1 when p + shift can pass a stride.
    first = -1 if phase_shift else 0
    taps = reach - first
    rows = -(-length // stride)
    left = reach - 1 - whole
    index = np.full((taps, stride), kernel, np.int64)
    for t in range(taps):
        for p in range(stride):
            tap = (left + whole - t) * stride + p + phase_shift
            if 0 <= tap < kernel:
                index[t, p] = tap
    return PolyphasePlan(index, stride, left, rows - steps + taps - 1 - left, rows, length)


def target_specific(graph: ModelGraph) -> bool:
    """Whether `export_classes` differ by target for this graph.

    They do for a dilated "same" Conv1D (explicit padding for ONNX), a causal one (padded in
    3-D for ONNX, in 4-D for TFLite) and a recurrent layer (TFLite's own while loop at a
    dynamic length).
    """
    return any(
        (layer.class_name == "Conv1D" and layer.config.get("padding") == "causal")
        or (layer.class_name == "Conv1D" and layer.config.get("padding") == "same"
            and max(layer.config.get("dilation_rate") or (1,)) > 1)
        or layer.class_name in ("LSTM", "GRU", "SimpleRNN", "Bidirectional")
        for layer in graph.layers
    )
