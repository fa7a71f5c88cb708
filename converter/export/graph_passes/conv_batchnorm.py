"""Export pass: a BatchNormalization right after a Conv1D folds into the conv.

Given: a Conv1D without activation whose output only a BatchNormalization over channels
reads (ecg_classifier's three conv blocks, SpliceAI's 16 residual units). TFLite's
converter fuses a batch norm into the conv before it only when nothing stands between them,
and a Conv1D is a CONV_2D between EXPAND_DIMS and a RESHAPE, so each one stayed a MUL and an
ADD: 27 TFLite ops for ecg_classifier where the stock converter wrote 21. tf2onnx writes the
same Mul and Add.
Result: the conv's kernel scaled per output channel by gamma / sqrt(variance + epsilon), its
bias shifted to (bias - mean) * that + beta, and the batch norm gone, its readers reading the
conv. The same affine map, folded (float rounding aside; parity checks it against the
original).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from converter.artifacts import Layer, ModelGraph, TensorRef
from converter.graph.passes import GraphResult, PassResult
from converter.layers.traits import over_channels


def folded_pairs(graph: ModelGraph) -> dict[str, str]:
    """{conv: the batch norm that folds into it}.

    Localisation reads a folded conv's tensor as the batch norm's output.
    """
    layers = {x.name: x for x in graph.layers}
    pairs = {}
    for norm in graph.layers:
        conv = foldable(graph, norm, layers)
        if conv is not None:
            pairs[conv.name] = norm.name
    return pairs


class ConvBatchnorm:
    """The pass object (see the module docstring)."""

    name = "conv_batchnorm"

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """The graph with every foldable batch norm folded into its conv."""
        layers = {x.name: x for x in graph.layers}
        folded: dict[str, str] = {}  # batch norm -> the conv it went into
        for conv_name, norm_name in folded_pairs(graph).items():
            layers[conv_name] = folded_conv(layers[conv_name], layers.pop(norm_name))
            folded[norm_name] = conv_name
        if not folded:
            return PassResult(graph, False)

        def through(ref: TensorRef) -> TensorRef:
            return TensorRef(folded[ref.layer]) if ref.layer in folded else ref

        kept = tuple(replace(x, calls=tuple(replace(c, inputs=tuple(through(r) for r in c.inputs))
                                            for c in x.calls)) for x in layers.values())
        outputs = tuple(through(r) for r in graph.outputs)
        changes = tuple(f"{norm}: folded into {conv}'s kernel and bias"
                        for norm, conv in folded.items())
        return PassResult(replace(graph, layers=kept, outputs=outputs), True, changes)


def foldable(graph: ModelGraph, norm: Layer, layers: dict[str, Layer]) -> Layer | None:
    """The Conv1D a batch norm can fold into, or None."""
    if norm.class_name != "BatchNormalization" or len(norm.calls) != 1 or (
            not over_channels(norm.config)):
        return None
    source = norm.calls[0].inputs[0] if len(norm.calls[0].inputs) == 1 else None
    conv = layers.get(source.layer) if source is not None else None
    if conv is None or conv.class_name != "Conv1D" or len(conv.calls) != 1:
        return None
    if conv.config.get("activation") not in (None, "linear") or conv.config.get(
            "data_format", "channels_last") != "channels_last":
        return None
    if graph.consumers(conv.name) != [norm.name] or any(
            r.layer == conv.name for r in graph.outputs):
        return None
    # Per-channel vectors as many as the conv's filters; anything else is the build stage's
    # to refuse with the layer named.
    channels = (conv.weights[0].shape[-1],) if conv.weights else None
    expected = 2 + sum(norm_flags(norm.config))
    return conv if len(norm.weights) == expected and all(
        w.shape == channels for w in norm.weights) else None


def norm_flags(config: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether a batch norm has its gamma (scale) and beta (center) weights."""
    return bool(config.get("scale", True)), bool(config.get("center", True))


def folded_conv(conv: Layer, norm: Layer) -> Layer:
    """`conv` with `norm`'s per-channel affine map folded into its kernel and bias."""
    scale, center = norm_flags(norm.config)
    weights = [np.asarray(w, np.float64) for w in norm.weights]
    gamma = weights.pop(0) if scale else 1.0
    beta = weights.pop(0) if center else 0.0
    mean, variance = weights
    factor = gamma / np.sqrt(variance + float(norm.config.get("epsilon", 1e-3)))
    kernel = np.asarray(conv.weights[0])
    bias = np.asarray(conv.weights[1], np.float64) if conv.config.get(
        "use_bias", True) and len(conv.weights) > 1 else np.zeros(kernel.shape[-1])
    new_kernel = (kernel.astype(np.float64) * factor).astype(kernel.dtype)
    new_bias = ((bias - mean) * factor + beta).astype(kernel.dtype)
    return replace(conv, config={**conv.config, "use_bias": True},
                   weights=(new_kernel, new_bias),
                   weight_names=(*conv.weight_names[:1], f"{conv.name}/bias")
                   if conv.weight_names else ())


PASS = ConvBatchnorm()
