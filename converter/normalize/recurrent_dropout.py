"""Recurrent dropout rates, which do nothing at inference, set to zero.

Given: recurrent layers (LSTM/GRU/SimpleRNN: the catalogue's `recurrent`; wrapped in
Bidirectional or TimeDistributed too) with `dropout` or `recurrent_dropout` above zero.
Result: both rates 0.0. The numbers at inference are the same, but Keras 3 keeps a seed-
generator variable (and its assignment) in the traced graph for any non-zero rate, which
freezing the graph for TFLite cannot turn into constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer
from converter.graph.passes import ConfigPass, rewrite_wrapped
from converter.layers import spec_of

RATES = ("dropout", "recurrent_dropout")


def zeroed(class_name: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config with its dropout rates (and its wrapped layers') at zero."""
    out, notes = dict(config), []
    if spec_of(class_name).recurrent:
        for key in RATES:
            if out.get(key):
                notes.append(f"{key} {out[key]} -> 0.0 (inference)")
                out[key] = 0.0
    rewrite_wrapped(out, notes, zeroed)
    return out, notes


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Zero one layer's recurrent dropout rates."""
    config, notes = zeroed(layer.class_name, layer.config)
    return (config, notes) if notes else None


PASS = ConfigPass("recurrent_dropout", rewrite)
