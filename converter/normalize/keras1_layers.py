"""Keras 1 layer vocabulary and weights -> Keras 3.

Given: layers as Keras 1.x saved them (Convolution1D, AtrousConvolution1D, nb_filter,
filter_length, border_mode, subsample_length, pool_length, output_dim, inner_activation,
consume_less, Dropout(p), input_dtype, per-gate recurrent weights, 4-D conv kernels), wrappers
(TimeDistributed, Bidirectional) included.
Result: the same layers in Keras 3 classes and keys, weights in Keras 3 layouts (see
`keras1_weights`). Every Keras 1 key is either mapped to its Keras 3 meaning or, when it
only mattered for training (initialisers, regularisers, constraints), dropped with a note;
a key this table does not know stops loading, naming the layer and the key, so no meaning
is ever lost silently. Keras 1's Merge is the `legacy_merge` pass's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from converter.artifacts import Layer, ModelGraph
from converter.errors import LoadError, UnsupportedLayersError
from converter.normalize._infra import LayerPass, PassResult
from converter.normalize.keras1_weights import conv1d_kernel, fuse_gates, split_halves


def as_list(value: Any) -> Any:
    """An int size as the one-element list Keras 2+ writes."""
    return value if value is None or isinstance(value, list) else [value]


def padding(value: Any) -> str:
    """`border_mode` -> `padding`; Keras 1's "full" has no Keras 3 form."""
    if value not in ("valid", "same", "causal"):
        raise LoadError(f"{value!r} has no Keras 3 equivalent (valid, same)")
    return str(value)


def refuse_true(key: str) -> Callable[[Any], Any]:
    """A transform that accepts only a false value of `key`."""

    def check(value: Any) -> Any:
        if value:
            raise LoadError(f"{value!r} cannot be converted (only {key}=False can)")
        return value

    return check


@dataclass(frozen=True)
class Rule:
    """How one Keras 1 class maps: its Keras 3 class, renamed keys, value transforms."""

    target: str
    renames: Mapping[str, str] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    transforms: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    added: Mapping[str, Any] = field(default_factory=dict)


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
CONV = Rule(
    "Conv1D",
    {"nb_filter": "filters", "filter_length": "kernel_size", "border_mode": "padding",
     "subsample_length": "strides", "atrous_rate": "dilation_rate", "bias": "use_bias"},
    frozenset({"activation"}),
    {"kernel_size": as_list, "strides": as_list, "dilation_rate": as_list, "padding": padding},
)
POOL = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
POOL_TRANSFORMS = {"pool_size": as_list, "strides": as_list, "padding": padding}
RECURRENT = {"output_dim": "units", "inner_activation": "recurrent_activation",
             "dropout_W": "dropout", "dropout_U": "recurrent_dropout", "consume_less": ""}
RECURRENT_KEEP = frozenset({"activation", "return_sequences", "go_backwards", "stateful",
                            "unroll"})
RULES: dict[str, Rule] = {
    "Convolution1D": CONV,
    "AtrousConvolution1D": CONV,
    "MaxPooling1D": Rule("MaxPooling1D", POOL, transforms=POOL_TRANSFORMS),
    "AveragePooling1D": Rule("AveragePooling1D", POOL, transforms=POOL_TRANSFORMS),
    "GlobalMaxPooling1D": Rule("GlobalMaxPooling1D"),
    "GlobalAveragePooling1D": Rule("GlobalAveragePooling1D"),
    "Dense": Rule("Dense", {"output_dim": "units", "bias": "use_bias"},
                  frozenset({"activation"})),
    "Embedding": Rule("Embedding", {"dropout": ""},
                      frozenset({"input_dim", "output_dim", "mask_zero"})),
    "LSTM": Rule("LSTM", RECURRENT, RECURRENT_KEEP, {"stateful": refuse_true("stateful")}),
    "GRU": Rule("GRU", RECURRENT, RECURRENT_KEEP, {"stateful": refuse_true("stateful")},
                {"reset_after": False}),
    "SimpleRNN": Rule("SimpleRNN", RECURRENT, RECURRENT_KEEP,
                      {"stateful": refuse_true("stateful")}),
    "Bidirectional": Rule("Bidirectional", keep=frozenset({"merge_mode", "layer"})),
    "TimeDistributed": Rule("TimeDistributed", keep=frozenset({"layer"})),
    "Dropout": Rule("Dropout", {"p": "rate"}),
    "SpatialDropout1D": Rule("SpatialDropout1D", {"p": "rate"}),
    "GaussianNoise": Rule("GaussianNoise", {"sigma": "stddev"}),
    "GaussianDropout": Rule("GaussianDropout", {"p": "rate"}),
    "Flatten": Rule("Flatten"),
    "Activation": Rule("Activation", keep=frozenset({"activation"})),
    "Reshape": Rule("Reshape", keep=frozenset({"target_shape"})),
    "Permute": Rule("Permute", keep=frozenset({"dims"})),
    "RepeatVector": Rule("RepeatVector", keep=frozenset({"n"})),
    "ZeroPadding1D": Rule("ZeroPadding1D", keep=frozenset({"padding"})),
    "Cropping1D": Rule("Cropping1D", keep=frozenset({"cropping"})),
    "UpSampling1D": Rule("UpSampling1D", {"length": "size"}),
    "BatchNormalization": Rule(
        "BatchNormalization", {"mode": ""}, frozenset({"epsilon", "axis"}),
        {"mode": refuse_true("mode")},
    ),
    "InputLayer": Rule(
        "InputLayer", {"input_dtype": "dtype", "batch_input_shape": "batch_shape", "sparse": ""},
        transforms={"sparse": refuse_true("sparse")},
    ),
    "LeakyReLU": Rule("LeakyReLU", {"alpha": "negative_slope"}),
    "ELU": Rule("ELU", keep=frozenset({"alpha"})),
}

def is_keras1(class_name: str, config: Mapping[str, Any]) -> bool:
    """Whether a layer config is still in Keras 1 vocabulary.

    A config is Keras 1 when it carries a key that only Keras 1 wrote for its class (the
    class's renamed keys, `init`-style training keys, `input_dtype`); Keras 2 shares class
    names (Dense, LSTM) but never those keys.
    """
    if class_name in ("Convolution1D", "AtrousConvolution1D"):
        return True
    rule = RULES.get(class_name)
    if rule is None:
        return False
    markers = set(rule.renames) | KERAS1_ONLY
    if class_name == "InputLayer":
        markers = {"input_dtype"}
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
    if class_name == "Embedding" and out.get("mask_zero") is False:
        out.pop("mask_zero")
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
        raise LoadError(f"layer {owner}: {key}: {exc.message}") from None


def convert_weights(
    class_name: str, config: Mapping[str, Any], weights: Sequence[np.ndarray],
    names: Sequence[str], owner: str,
) -> tuple[np.ndarray, ...]:
    """Keras 1 weight layouts of one (converted) layer -> Keras 3 layouts."""
    if class_name == "Conv1D" and weights:
        kernel = conv1d_kernel(weights[0], int(config["filters"]),
                               int(as_list(config["kernel_size"])[0]), owner)
        return (kernel, *weights[1:])
    if class_name in ("LSTM", "GRU"):
        return fuse_gates(class_name, weights, names, owner)
    inner = config.get("layer")
    if class_name == "TimeDistributed" and isinstance(inner, Mapping):
        return convert_weights(inner["class_name"], inner["config"], weights, names, owner)
    if class_name == "Bidirectional" and isinstance(inner, Mapping):
        (fw, fw_names), (bw, bw_names) = split_halves(weights, names)
        return (*convert_weights(inner["class_name"], inner["config"], fw, fw_names, owner),
                *convert_weights(inner["class_name"], inner["config"], bw, bw_names, owner))
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
    | {"Merge", "Concatenate", "Add", "Multiply", "Average", "Maximum", "Dot"}
)


class Keras1Layers:
    """The pass object: it runs only on graphs whose source is Keras 1."""

    name = "keras1_layers"

    def __call__(self, graph: ModelGraph) -> PassResult:
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
