"""LSTM, GRU, SimpleRNN and Bidirectional, step by step in float64, Keras gate orders.

LSTM gates are i, f, c, o; GRU gates z, r, h, with `reset_after` deciding whether the reset
gate multiplies the recurrent product (Keras 3 default, two bias rows) or the state before
it (Keras 2 default, one bias row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from converter.reference.activations import activation
from converter.reference.registry import Config, Inputs, UnsupportedByReference, Weights, register

Array = np.ndarray


def check(config: Mapping[str, Any]) -> None:
    """Refuse recurrent options whose outputs the reference does not produce."""
    for key in ("return_state", "stateful"):
        if config.get(key):
            raise UnsupportedByReference(f"{key}=True")


def scan(config: Config, weights: Weights, x: Array,
         step: Callable[[Array, Array, Any], tuple[Array, Any]], extra: Any = None) -> Array:
    """Run `step(x_t, h, extra) -> (h, extra)` over time from a zero state.

    Steps go in reverse for go_backwards; the output is the per-step states in processing
    order (as Keras returns them) for return_sequences, else the last state.
    """
    check(config)
    h = np.zeros((x.shape[0], weights[1].shape[0]))
    series = np.swapaxes(x, 0, 1)
    states = []
    for x_t in series[::-1] if config.get("go_backwards", False) else series:
        h, extra = step(x_t, h, extra)
        states.append(h)
    return np.stack(states, axis=1) if config.get("return_sequences", False) else states[-1]


def gates(config: Config) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """(activation, recurrent activation) of a gated cell."""
    return (activation(config.get("activation", "tanh")),
            activation(config.get("recurrent_activation", "sigmoid")))


@register("LSTM")
def lstm(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras LSTM (no peepholes); gates i, f, c, o."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if config.get("use_bias", True) else np.zeros(kernel.shape[1])
    act, rec = gates(config)
    units = recurrent.shape[0]

    def step(x_t: Array, h: Array, c: Any) -> tuple[Array, Any]:
        z = x_t @ kernel + h @ recurrent + bias
        i, f = rec(z[:, :units]), rec(z[:, units:2 * units])
        c = f * (0.0 if c is None else c) + i * act(z[:, 2 * units:3 * units])
        return rec(z[:, 3 * units:]) * act(c), c

    return scan(config, weights, inputs[0], step)


@register("GRU")
def gru(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras GRU, reset_after either way; gates z, r, h."""
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    reset_after = bool(config.get("reset_after", True))
    use_bias = config.get("use_bias", True)
    bias = weights[2] if use_bias else np.zeros((2, 3 * units) if reset_after else 3 * units)
    in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * units))
    act, rec = gates(config)

    def step(x_t: Array, h: Array, extra: Any) -> tuple[Array, Any]:
        xz = x_t @ kernel + in_bias
        if reset_after:
            hz = h @ recurrent + rec_bias
            z = rec(xz[:, :units] + hz[:, :units])
            r = rec(xz[:, units:2 * units] + hz[:, units:2 * units])
            candidate = act(xz[:, 2 * units:] + r * hz[:, 2 * units:])
        else:
            hz = h @ recurrent[:, :2 * units]
            z, r = rec(xz[:, :units] + hz[:, :units]), rec(xz[:, units:2 * units] + hz[:, units:])
            candidate = act(xz[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
        return z * h + (1 - z) * candidate, extra

    return scan(config, weights, inputs[0], step)


@register("SimpleRNN")
def simple_rnn(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """H = act(x W + h U + b)."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if config.get("use_bias", True) else 0.0
    act = activation(config.get("activation", "tanh"))
    return scan(config, weights, inputs[0],
                lambda x_t, h, extra: (act(x_t @ kernel + h @ recurrent + bias), extra))


RECURRENT = {"LSTM": lstm, "GRU": gru, "SimpleRNN": simple_rnn}


def inner(layer: Any) -> tuple[str, Mapping[str, Any]]:
    """(class name, config) of a wrapped layer config."""
    if not isinstance(layer, Mapping) or layer.get("class_name") not in RECURRENT:
        raise UnsupportedByReference(f"Bidirectional around {str(layer)[:60]}")
    return str(layer["class_name"]), layer.get("config", {})


@register("Bidirectional")
def bidirectional(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Forward and backward passes, the backward sequence put back in time order, merged."""
    fw_class, fw_config = inner(config["layer"])
    if config.get("backward_layer"):
        bw_class, bw_config = inner(config["backward_layer"])
    else:
        bw_class = fw_class
        bw_config = {**fw_config, "go_backwards": not fw_config.get("go_backwards", False)}
    half = len(weights) // 2
    forward = RECURRENT[fw_class](fw_config, weights[:half], inputs)
    backward = RECURRENT[bw_class](bw_config, weights[half:], inputs)
    if bw_config.get("return_sequences", False):
        backward = backward[:, ::-1]
    mode = config.get("merge_mode", "concat")
    merged = {"concat": lambda: np.concatenate([forward, backward], axis=-1),
              "sum": lambda: forward + backward, "mul": lambda: forward * backward,
              "ave": lambda: (forward + backward) / 2}
    if mode not in merged:
        raise UnsupportedByReference(f"Bidirectional merge_mode {mode!r}")
    return merged[mode]()
