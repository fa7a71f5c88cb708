"""Layers that only act while training: the identity at inference (Dropout and its kin).

The `remove_inference_identity` pass takes them out of the graph, so exporters emit no
no-op; their reference is the identity.
"""

from __future__ import annotations

from converter.layers.spec import Array, Config, Inputs, Keras1Rule, LayerSpec, Weights
from converter.layers.traits import always, same_length


def identity(config: Config, weights: Weights, inputs: Inputs) -> Array:
    """The identity at inference."""
    return inputs[0]


def inference_identity(name: str, training_mode: str = "", **keras1: Keras1Rule) -> LayerSpec:
    """A layer that is the identity at inference (any layout, any position)."""
    return LayerSpec(name, elementwise=True, positionwise=always, identity_at_inference=True,
                     length=same_length, reference=identity, keras1=keras1,
                     training_mode=training_mode)


DROPS = "drops random inputs (Monte-Carlo dropout)"
NOISE = "adds random noise"
SPECS = (
    inference_identity("Dropout", DROPS, Dropout=Keras1Rule("Dropout", {"p": "rate"})),
    inference_identity("SpatialDropout1D", "drops random channels (Monte-Carlo dropout)",
                       SpatialDropout1D=Keras1Rule("SpatialDropout1D", {"p": "rate"})),
    inference_identity("GaussianNoise", NOISE,
                       GaussianNoise=Keras1Rule("GaussianNoise", {"sigma": "stddev"})),
    inference_identity("GaussianDropout", "multiplies by random noise",
                       GaussianDropout=Keras1Rule("GaussianDropout", {"p": "rate"})),
    inference_identity("AlphaDropout", DROPS),
    inference_identity("ActivityRegularization"),
    inference_identity("Identity"),
)
