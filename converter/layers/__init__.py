"""The layer catalogue: one entry per Keras layer class (see `spec.LayerSpec`).

Each entry is the one home of what the pipeline knows about its class.

Family modules hold the entries; this module indexes them by class name and answers the
questions passes ask. A class the catalogue does not know gets `UNKNOWN`, an entry with no
traits, so every pass treats it as opaque (and it needs --custom-objects to be built).
Adding a layer is one entry in its family's `SPECS` (README: "Adding a layer").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from converter.errors import InternalError
from converter.layers import (
    activation,
    convolution,
    core,
    embedding,
    inputs,
    keras_only,
    merge,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    shape,
    tf_ops,
    wrappers,
)
from converter.layers.spec import Keras1Rule, LayerSpec

__all__ = ["CATALOGUE", "UNKNOWN", "LayerSpec", "export_classes", "inner_layers",
           "keras1_rules", "spec_of", "specs"]

FAMILIES = (inputs, core, convolution, pooling, recurrent, wrappers, merge, normalization,
            activation, regularization, embedding, shape, preprocessing, tf_ops, keras_only)
UNKNOWN = LayerSpec("")
WRAPPED_KEYS = ("layer", "backward_layer")


def index(families: tuple[Any, ...]) -> dict[str, LayerSpec]:
    """Every class name and alias -> its entry; a name claimed twice is a bug."""
    found: dict[str, LayerSpec] = {}
    for family in families:
        for spec in family.SPECS:
            for name in spec.names:
                if name in found:
                    raise InternalError(f"layer class {name} is in the catalogue twice")
                found[name] = spec
    return found


CATALOGUE: dict[str, LayerSpec] = index(FAMILIES)


def spec_of(class_name: str) -> LayerSpec:
    """The entry of a class name; `UNKNOWN` (no traits) for a class the catalogue lacks."""
    return CATALOGUE.get(class_name, UNKNOWN)


def specs() -> Iterator[LayerSpec]:
    """Every entry once, in family order."""
    for family in FAMILIES:
        yield from family.SPECS


def keras1_rules() -> dict[str, Keras1Rule]:
    """Keras 1 class name -> its translation rule."""
    return {old: rule for spec in specs() for old, rule in spec.keras1.items()}


def export_classes(target: str) -> dict[str, Any]:
    """{Keras class name: export-friendly subclass} for a target ("tflite" or "onnx")."""
    return {spec.name: spec.export(target) for spec in specs() if spec.export is not None}


def inner_layers(config: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(key, class name, config) of each layer a wrapper's config holds."""
    for key in WRAPPED_KEYS:
        inner = config.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("config"), Mapping):
            yield key, str(inner.get("class_name")), inner["config"]


def holds_recurrent(class_name: str, config: Mapping[str, Any]) -> bool:
    """Whether a layer is recurrent or wraps one (a Bidirectional around an LSTM)."""
    return spec_of(class_name).recurrent or any(
        spec_of(name).recurrent for _, name, _ in inner_layers(config))
