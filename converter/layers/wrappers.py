"""TimeDistributed: a layer applied to every step (Bidirectional is in `recurrent`)."""

from __future__ import annotations

from collections.abc import Callable

from converter.layers.spec import Array, Config, Impl, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import always, same_length


def time_distributed(config: Config, weights: Weights, inputs: Inputs,
                     implementation: Callable[[str], Impl]) -> Array:
    """The wrapped layer on every step: (batch, steps, ...) folded to (batch * steps, ...)."""
    layer = config["layer"]
    x = inputs[0]
    impl = implementation(str(layer.get("class_name")))
    out = impl(layer.get("config", {}), weights, [x.reshape(-1, *x.shape[2:])])
    return out.reshape(x.shape[0], x.shape[1], *out.shape[1:])


SPECS = (
    LayerSpec("TimeDistributed", wraps=True, positionwise=always, length=same_length,
              wrapper_reference=time_distributed,
              keras1={"TimeDistributed": Keras1Rule("TimeDistributed",
                                                    keep=frozenset({"layer"}))}),
)
