"""LSTM, GRU, SimpleRNN and Bidirectional, step by step in float64, Keras gate orders.

LSTM gates are i, f, c, o; GRU gates z, r, h, with `reset_after` deciding whether the reset
gate multiplies the recurrent product (Keras 3 default, two bias rows) or the state before
it (Keras 2 default, one bias row).
"""

from __future__ import annotations

from collections.abc import Mapping
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


def sequence(config: Mapping[str, Any], states: list[Array]) -> Array:
    """The layer output from the per-step states (in processing order, as Keras returns it)."""
    if config.get("return_sequences", False):
        return np.stack(states, axis=1)
    return states[-1]


def steps(x: Array, config: Mapping[str, Any]) -> Array:
    """Time-major view, reversed for go_backwards."""
    x = np.swapaxes(x, 0, 1)
    return x[::-1] if config.get("go_backwards", False) else x


@register("LSTM")
def lstm(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras LSTM (no peepholes)."""
    check(config)
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if config.get("use_bias", True) else np.zeros(kernel.shape[1])
    act, rec = activation(config.get("activation", "tanh")), activation(
        config.get("recurrent_activation", "sigmoid"))
    units = recurrent.shape[0]
    h = np.zeros((inputs[0].shape[0], units))
    c = np.zeros_like(h)
    states = []
    for x_t in steps(inputs[0], config):
        z = x_t @ kernel + h @ recurrent + bias
        i, f = rec(z[:, :units]), rec(z[:, units:2 * units])
        c = f * c + i * act(z[:, 2 * units:3 * units])
        h = rec(z[:, 3 * units:]) * act(c)
        states.append(h)
    return sequence(config, states)


@register("GRU")
def gru(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Keras GRU, reset_after either way."""
    check(config)
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    reset_after = bool(config.get("reset_after", True))
    use_bias = config.get("use_bias", True)
    bias = weights[2] if use_bias else np.zeros((2, 3 * units) if reset_after else 3 * units)
    in_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * units))
    act, rec = activation(config.get("activation", "tanh")), activation(
        config.get("recurrent_activation", "sigmoid"))
    h = np.zeros((inputs[0].shape[0], units))
    states = []
    for x_t in steps(inputs[0], config):
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
        h = z * h + (1 - z) * candidate
        states.append(h)
    return sequence(config, states)


@register("SimpleRNN")
def simple_rnn(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """H = act(x W + h U + b)."""
    check(config)
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if config.get("use_bias", True) else 0.0
    act = activation(config.get("activation", "tanh"))
    h = np.zeros((inputs[0].shape[0], recurrent.shape[0]))
    states = []
    for x_t in steps(inputs[0], config):
        h = act(x_t @ kernel + h @ recurrent + bias)
        states.append(h)
    return sequence(config, states)


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
