"""One step of each Keras recurrent cell over its input projected ahead of the loop.

A Keras cell multiplies each step's input by its kernel inside the step. The product does not
depend on the state, so the export loop (`recurrent_export.while_loop`) makes it once for
every step before the loop, one FULLY_CONNECTED over the whole sequence, and each step keeps
only the recurrent product: half the per-step matmuls and fewer ops in the loop body. Each
gate activation runs once over the gates side by side (an LSTM's columns reordered i, f, o,
c ahead of the loop, GRU's z, r are adjacent already): FactorNet's hard_sigmoid LSTM loop
body went from 31 ops to 20.
The gate formulas are Keras 3's (LSTMCell, GRUCell both reset_after forms, SimpleRNNCell,
dropout being inference no-ops); the activations are the cell's own functions, so Keras 1's
hard_sigmoid gates stay what normalisation made them. A cell of another class has no step
here (`projection` returns None) and the loop calls the cell itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Step = Callable[[Any, Any, list[Any]], tuple[Any, list[Any]]]


def projection(cell: Any) -> tuple[Any, Any, Step] | None:
    """(kernel, input bias or None, step) of a cell this module knows, else None.

    `step(cell, projected_t, states) -> (output, new states)`. An LSTM's kernel and bias
    come with their gate columns as `lstm_step` reads them.
    """
    import keras

    if type(cell) is keras.layers.LSTMCell:
        bias = input_bias(cell)
        return gates_last(cell.kernel), None if bias is None else gates_last(bias), lstm_step
    for cls, step in ((keras.layers.GRUCell, gru_step),
                      (keras.layers.SimpleRNNCell, simple_rnn_step)):
        if type(cell) is cls:
            return cell.kernel, input_bias(cell), step
    return None


def input_bias(cell: Any) -> Any:
    """The bias added to the input product (a reset_after GRU's first bias row)."""
    if not cell.use_bias:
        return None
    return cell.bias[0] if getattr(cell, "reset_after", False) else cell.bias


def gates_last(weights: Any) -> Any:
    """An LSTM's gate columns i, f, c, o as i, f, o, c: the three gates side by side.

    Constants once the function is frozen, so the reordering costs no op in the file.
    """
    import tensorflow as tf

    i, f, c, o = tf.split(weights, 4, axis=-1)
    return tf.concat([i, f, o, c], axis=-1)


def lstm_step(cell: Any, projected: Any, states: list[Any]) -> tuple[Any, list[Any]]:
    """Gates i, f, o (one activation over the three) and the candidate c.

    `projected` has its columns in `gates_last` order, as the recurrent product here.
    """
    import tensorflow as tf

    h, c = states
    z = projected + tf.matmul(h, gates_last(cell.recurrent_kernel))
    gates, candidate = tf.split(z, [3 * cell.units, cell.units], axis=1)
    i, f, o = tf.split(cell.recurrent_activation(gates), 3, axis=1)
    c = f * c + i * cell.activation(candidate)
    h = o * cell.activation(c)
    return h, [h, c]


def gru_step(cell: Any, projected: Any, states: list[Any]) -> tuple[Any, list[Any]]:
    """Gates z, r (one activation over both) and the candidate h.

    reset_after decides what the reset gate multiplies.
    """
    import tensorflow as tf

    (h,) = states
    units = cell.units
    x_gates, x_h = tf.split(projected, [2 * units, units], axis=1)
    if cell.reset_after:
        inner = tf.matmul(h, cell.recurrent_kernel)
        if cell.use_bias:
            inner = inner + cell.bias[1]
        r_gates, r_h = tf.split(inner, [2 * units, units], axis=1)
    else:
        # split, not sliced: a slice of the variable is a StridedSlice TFLite cannot lower
        gates_kernel, candidate_kernel = tf.split(cell.recurrent_kernel, [2 * units, units], 1)
        r_gates = tf.matmul(h, gates_kernel)
    z, r = tf.split(cell.recurrent_activation(x_gates + r_gates), 2, axis=1)
    if cell.reset_after:
        recurrent_h = r * r_h
    else:
        recurrent_h = tf.matmul(r * h, candidate_kernel)
    candidate = cell.activation(x_h + recurrent_h)
    h = z * h + (1 - z) * candidate
    return h, [h]


def simple_rnn_step(cell: Any, projected: Any, states: list[Any]) -> tuple[Any, list[Any]]:
    """The Elman step: h = act(x W + b + h U)."""
    import tensorflow as tf

    (h,) = states
    output = projected + tf.matmul(h, cell.recurrent_kernel)
    if cell.activation is not None:
        output = cell.activation(output)
    return output, [output]
