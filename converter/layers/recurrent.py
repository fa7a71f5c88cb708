"""Recurrent layers: LSTM, GRU, SimpleRNN, and Bidirectional around them.

LSTM gates are i, f, c, o; GRU gates z, r, h, with `reset_after` deciding whether the reset
gate multiplies the recurrent product (Keras 3 default, two bias rows) or the state before
it (Keras 2 default, one bias row). Keras 1 stored one kernel, recurrent kernel and bias per
gate; Keras 2+ fuses them along the last axis in gate order. The references step through
time in float64; the export forms are in `recurrent_export`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from converter.errors import LoadError, UnsupportedByReference
from converter.layers.activation import activation
from converter.layers.recurrent_export import export_bidirectional, export_recurrent
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Shape, Weights
from converter.layers.traits import always, refuse_true

KERAS1_RENAMES = {"output_dim": "units", "inner_activation": "recurrent_activation",
                  "dropout_W": "dropout", "dropout_U": "recurrent_dropout", "consume_less": ""}
KERAS1_KEEP = frozenset({"activation", "return_sequences", "go_backwards", "stateful", "unroll"})
GATES = {"LSTM": "ifco", "GRU": "zrh"}
STORED_ORDER = {"LSTM": "icfo", "GRU": "zrh"}
GATE_NAME = re.compile(r"(?:^|_)([WUb])_([a-z])(?::\d+)?$")


def check(config: Config) -> None:
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


def simple_rnn(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """H = act(x W + h U + b)."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if config.get("use_bias", True) else 0.0
    act = activation(config.get("activation", "tanh"))
    return scan(config, weights, inputs[0],
                lambda x_t, h, extra: (act(x_t @ kernel + h @ recurrent + bias), extra))


REFERENCES = {"LSTM": lstm, "GRU": gru, "SimpleRNN": simple_rnn}


def inner(layer: Any) -> tuple[str, Mapping[str, Any]]:
    """(class name, config) of a wrapped recurrent layer config."""
    if not isinstance(layer, Mapping) or layer.get("class_name") not in REFERENCES:
        raise UnsupportedByReference(f"Bidirectional around {str(layer)[:60]}")
    return str(layer["class_name"]), layer.get("config", {})


def bidirectional(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """Forward and backward passes, the backward sequence put back in time order, merged."""
    fw_class, fw_config = inner(config["layer"])
    if config.get("backward_layer"):
        bw_class, bw_config = inner(config["backward_layer"])
    else:
        bw_class = fw_class
        bw_config = {**fw_config, "go_backwards": not fw_config.get("go_backwards", False)}
    half = len(weights) // 2
    forward = REFERENCES[fw_class](fw_config, weights[:half], inputs)
    backward = REFERENCES[bw_class](bw_config, weights[half:], inputs)
    if bw_config.get("return_sequences", False):
        backward = backward[:, ::-1]
    mode = config.get("merge_mode", "concat")
    merged: dict[str, Callable[[], Array]] = {
        "concat": lambda: np.concatenate([forward, backward], axis=-1),
        "sum": lambda: forward + backward, "mul": lambda: forward * backward,
        "ave": lambda: (forward + backward) / 2}
    if mode not in merged:
        raise UnsupportedByReference(f"Bidirectional merge_mode {mode!r}")
    return merged[mode]()


def fused_gates(class_name: str) -> Callable[[Config, Weights, Sequence[str], str],
                                             tuple[np.ndarray, ...]]:
    """Keras 1's per-gate arrays of `class_name` fused into (kernel, recurrent, bias).

    Gate arrays are matched by their names (`lstm_1_W_i`, `forward_lstm_1_U_f:0`) when the
    file has them, and by Keras 1's storage order (i, c, f, o / z, r, h) otherwise.
    """

    def fuse(config: Config, weights: Weights, names: Sequence[str],
             owner: str) -> tuple[np.ndarray, ...]:
        gate_order = GATES[class_name]
        if len(weights) != 3 * len(gate_order):
            return tuple(weights)
        by_name: dict[tuple[str, str], np.ndarray] = {}
        for name, array in zip(names, weights, strict=False):
            match = GATE_NAME.search(name)
            if match:
                by_name[(match.group(1), match.group(2))] = array
        if len(by_name) != len(weights):
            by_name = {(kind, gate): weights[3 * index + position]
                       for index, gate in enumerate(STORED_ORDER[class_name])
                       for position, kind in enumerate("WUb")}
        missing = [f"{kind}_{gate}" for gate in gate_order for kind in "WUb"
                   if (kind, gate) not in by_name]
        if missing:
            raise LoadError(f"layer {owner}: {class_name} gate weights {missing} are missing")
        return tuple(np.concatenate([by_name[(kind, gate)] for gate in gate_order], axis=-1)
                     for kind in "WUb")

    return fuse


def bidirectional_keras1_weights(config: Config, weights: Weights, names: Sequence[str],
                                 owner: str) -> tuple[np.ndarray, ...]:
    """Keras 1 stored the forward layer's weights, then the backward layer's."""
    layer = config.get("layer")
    if not isinstance(layer, Mapping) or layer.get("class_name") not in GATES:
        return tuple(weights)
    fuse = fused_gates(str(layer["class_name"]))
    half = len(weights) // 2
    padded = list(names) + [""] * (len(weights) - len(names))
    return (*fuse(layer["config"], weights[:half], padded[:half], owner),
            *fuse(layer["config"], weights[half:], padded[half:], owner))


def time_major_drift(config: dict[str, Any], owner: str) -> list[str]:
    """`time_major: false` dropped (Keras 3 RNNs are batch-major); `true` refused.

    Reading time-major weights as batch-major would compute wrong numbers.
    """
    if "time_major" not in config:
        return []
    if config.pop("time_major"):
        raise LoadError(f"layer {owner}: time_major=True RNNs have no Keras 3 equivalent; save "
                        "the model with time_major=False")
    return ["time_major=False dropped (Keras 3 RNNs are batch-major)"]


def sequence_length(config: Config, steps: int | None) -> int | None:
    """Its input's length when it returns the whole sequence, else no length."""
    return steps if config.get("return_sequences", False) else None


def bidirectional_length(config: Config, steps: int | None) -> int | None:
    """Its layer's length map."""
    layer = config.get("layer")
    return sequence_length(layer.get("config", {}), steps) if isinstance(layer, Mapping) else None


def recurrent_shape(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """(length, units) for the whole sequence, else (units,)."""
    source = inputs[0] if inputs else None
    units = int(config["units"]) if "units" in config else None
    if not config.get("return_sequences", False):
        return (units,)
    return None if source is None else (source[0], units)


def bidirectional_shape(config: Config, inputs: Sequence[Shape | None]) -> Shape | None:
    """Its layer's shape, the units doubled when the directions are concatenated."""
    layer = config.get("layer")
    mode = config.get("merge_mode", "concat")
    if not isinstance(layer, Mapping) or mode is None:
        return None
    one = recurrent_shape(layer.get("config", {}), inputs)
    if one is None or one[-1] is None or mode != "concat":
        return one
    return (*one[:-1], 2 * one[-1])


def recurrent(name: str, **added: Any) -> LayerSpec:
    """An RNN layer's entry."""
    rule = Keras1Rule(name, KERAS1_RENAMES, KERAS1_KEEP, {"stateful": refuse_true("stateful")},
                      added)
    return LayerSpec(name, recurrent=True, keras1={name: rule}, reference=REFERENCES[name],
                     length=sequence_length, shape=recurrent_shape,
                     keras1_weights=fused_gates(name) if name in GATES else None,
                     keras2_drift=time_major_drift, export=export_recurrent(name),
                     export_differs=always)


SPECS = (
    recurrent("LSTM"),
    recurrent("GRU", reset_after=False),
    recurrent("SimpleRNN"),
    LayerSpec("Bidirectional", wraps=True, reference=bidirectional, length=bidirectional_length,
              shape=bidirectional_shape,
              keras1={"Bidirectional": Keras1Rule("Bidirectional",
                                                  keep=frozenset({"merge_mode", "layer"}))},
              keras1_weights=bidirectional_keras1_weights,
              export=export_bidirectional(tuple(REFERENCES)),
              export_differs=always),
)
