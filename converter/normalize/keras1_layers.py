"""Keras 1 layer vocabulary and weights -> Keras 3.

Given: layers as Keras 1.x saved them (Convolution1D, AtrousConvolution1D, nb_filter,
filter_length, border_mode, subsample_length, pool_length, output_dim, inner_activation,
consume_less, Dropout(p), input_dtype, per-gate recurrent weights, 4-D conv kernels),
wrappers (TimeDistributed, Bidirectional) included. Result: the same layers in Keras 3
classes and keys, weights in Keras 3 layouts. Each class's rule and weight layout live in
its catalogue entry (`converter.layers`). Every Keras 1 key is either mapped to its Keras 3
meaning or, when it only mattered for training (initialisers, regularisers, constraints),
dropped with a note; a key this table does not know stops loading, naming the layer and the
key, so no meaning is ever lost silently. Keras 1's Merge is the `legacy_merge` pass's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from converter.artifacts import Layer, ModelGraph
from converter.errors import LoadError, UnsupportedLayersError
from converter.graph.passes import GraphResult, LayerPass, PassResult
from converter.layers import inner_layers, keras1_rules, spec_of, specs

# Keys every Keras 1 layer may carry; the InputLayer now holds the shape.
COMMON = frozenset({"name", "trainable"})
SHAPE_ONLY = frozenset({"batch_input_shape", "input_dtype", "input_dim", "input_length",
                        "input_shape", "batch_size"})
# Keys that only shaped training: the trained weights are in the file.
TRAINING_ONLY = frozenset({
    "init", "inner_init", "forget_bias_init", "gamma_init", "beta_init",
    "W_regularizer", "U_regularizer", "b_regularizer", "activity_regularizer",
    "gamma_regularizer", "beta_regularizer", "W_constraint", "U_constraint", "b_constraint",
    "weights", "momentum",
})
# Training keys only Keras 1 wrote (Keras 2 renamed them), so their presence marks Keras 1.
KERAS1_ONLY = frozenset({
    "init", "inner_init", "forget_bias_init", "gamma_init", "beta_init", "W_regularizer",
    "U_regularizer", "b_regularizer", "W_constraint", "U_constraint", "b_constraint",
    "input_dtype",
})
RULES = keras1_rules()


def is_keras1(class_name: str, config: Mapping[str, Any]) -> bool:
    """Whether a layer config is still in Keras 1 vocabulary.

    A config is Keras 1 when it carries a key that only Keras 1 wrote for its class (the
    class's renamed keys, `init`-style training keys, `input_dtype`); Keras 2 shares class
    names (Dense, LSTM) but never those keys.
    """
    rule = RULES.get(class_name)
    if rule is None:
        return False
    if rule.target != class_name:  # a class only Keras 1 had (Convolution1D)
        return True
    markers = set(rule.renames) | KERAS1_ONLY if rule.markers is None else rule.markers
    return any(key in markers and key not in rule.keep for key in config)


def translate(
    class_name: str, config: Mapping[str, Any], owner: str
) -> tuple[str, dict[str, Any], list[str]]:
    """One Keras 1 layer config in Keras 3 vocabulary, with a note per change."""
    rule = RULES.get(class_name)
    if rule is None:
        raise LoadError(
            f"layer {owner}: Keras 1 class {class_name} has no Keras 3 mapping in converter; "
            "re-save the model with Keras 2, or replace the layer"
        )
    out: dict[str, Any] = dict(rule.added)
    notes = [] if class_name == rule.target else [f"{class_name} -> {rule.target}"]
    for key, value in config.items():
        if key in rule.renames:
            new_key = rule.renames[key]
            if new_key in rule.transforms:
                value = apply(rule.transforms[new_key], value, owner, key)
            elif key in rule.transforms:
                value = apply(rule.transforms[key], value, owner, key)
            if new_key:
                out[new_key] = value
                notes.append(f"{key} -> {new_key}")
            else:
                notes.append(f"{key}={value!r} dropped (no effect on the computed numbers)")
        elif key in COMMON or key in rule.keep:
            transform = rule.transforms.get(key)
            out[key] = apply(transform, value, owner, key) if transform else value
        elif key in SHAPE_ONLY:
            notes.append(f"{key} dropped (the InputLayer carries the shape)")
        elif key in TRAINING_ONLY:
            notes.append(f"{key} dropped (training only; the trained weights are loaded)")
        else:
            raise LoadError(
                f"layer {owner} ({class_name}): Keras 1 config key {key!r}={value!r} is not "
                "understood by converter, and dropping it could change the numbers"
            )
    for key, default in rule.dropped_at.items():
        if key in out and out[key] == default:
            out.pop(key)
    inner = out.get("layer")
    if isinstance(inner, Mapping) and "class_name" in inner:
        inner_class, inner_config, inner_notes = translate(
            str(inner["class_name"]), inner.get("config", {}), owner
        )
        out["layer"] = {"class_name": inner_class, "config": inner_config}
        notes.extend(f"layer: {note}" for note in inner_notes)
    return rule.target, out, notes


def apply(transform: Callable[[Any], Any], value: Any, owner: str, key: str) -> Any:
    """A value transform, its refusal naming the layer."""
    try:
        return transform(value)
    except LoadError as exc:
        raise LoadError(f"layer {owner}: {key}: {exc.message}") from exc


def convert_weights(
    class_name: str, config: Mapping[str, Any], weights: Sequence[np.ndarray],
    names: Sequence[str], owner: str,
) -> tuple[np.ndarray, ...]:
    """Keras 1 weight layouts of one (translated) layer -> Keras 3 layouts, by its entry.

    A wrapper without its own rule converts its inner layer's.
    """
    spec = spec_of(class_name)
    if spec.keras1_weights is not None:
        return spec.keras1_weights(config, weights, names, owner)
    for _, inner_class, inner_config in inner_layers(config):
        return convert_weights(inner_class, inner_config, weights, names, owner)
    return tuple(weights)


def rewrite(layer: Layer) -> tuple[Layer, list[str]] | None:
    """Translate one layer if it is still in Keras 1 vocabulary."""
    if not is_keras1(layer.class_name, layer.config):
        inner = layer.config.get("layer")
        if not (isinstance(inner, Mapping) and is_keras1(str(inner.get("class_name")),
                                                         inner.get("config", {}))):
            return None
    target, config, notes = translate(layer.class_name, layer.config, layer.name)
    weights = convert_weights(target, config, layer.weights, layer.weight_names, layer.name)
    if any(a.shape != b.shape for a, b in zip(weights, layer.weights, strict=False)) or len(
        weights
    ) != len(layer.weights):
        notes.append(
            "weights " + ", ".join(str(tuple(w.shape)) for w in layer.weights)
            + " -> " + ", ".join(str(tuple(w.shape)) for w in weights)
        )
    return replace(layer, class_name=target, config=config, weights=weights), notes


# Keras 1 classes this pass or later ones translate, and what they become (a graph this
# pass already ran on holds those).
KNOWN_CLASSES = frozenset(
    set(RULES) | {r.target for r in RULES.values()}
    | {name for spec in specs() for name in (spec.name, *spec.from_legacy) if spec.from_legacy}
)


class Keras1Layers:
    """The pass object: it runs only on graphs whose source is Keras 1."""

    name = "keras1_layers"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Translate every Keras 1 layer of a Keras 1 graph."""
        if graph.source_keras != "1":
            return PassResult(graph, False)
        unknown = [(x.name, f"Keras 1 class {x.class_name} has no Keras 3 mapping")
                   for x in graph.layers
                   if x.class_name not in KNOWN_CLASSES]
        if unknown:
            raise UnsupportedLayersError(
                unknown, "re-save the model with Keras 2 if you can, or replace these layers "
                "with ones converter maps (see converter inspect).")
        return LayerPass(self.name, rewrite)(graph)


PASS = Keras1Layers()
