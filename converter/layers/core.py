"""Dense: a matrix product over the last axis, whatever the rank."""

from __future__ import annotations

import numpy as np

from converter.layers.activation import activation
from converter.layers.core_export import export_dense
from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import always, same_length, with_last


def dense(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """X @ kernel + bias over the last axis."""
    out = np.tensordot(inputs[0], weights[0], axes=([-1], [0]))
    if config.get("use_bias", True) and len(weights) > 1:
        out = out + weights[1]
    return activation(config.get("activation"))(out)


SPECS = (
    LayerSpec("Dense", positionwise=always, length=same_length, reference=dense,
              shape=with_last(lambda config, _: int(config["units"])), export=export_dense,
              keras1={"Dense": Keras1Rule("Dense", {"output_dim": "units", "bias": "use_bias"},
                                          frozenset({"activation"}))}),
)
