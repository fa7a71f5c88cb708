"""Refuse model files whose numbers cannot be a working model, before anything is built.

A damaged or hostile file can declare sizes that would make Keras allocate terabytes while
building the layers (`units: 10**12` beside a kernel of 8 columns), inputs no parity check
could hold, carry NaN/inf weights that make every output NaN, or name a module outside Keras
for a class or function. Each is a LoadError that names the layer and what is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import Layer, ModelGraph
from converter.errors import LoadError

# Config keys whose value sizes a weight: it must be one of the weights' own dimensions.
WEIGHT_SIZES = ("units", "filters", "output_dim", "input_dim", "nb_filter")
# Keys that size computation or tensors without a weight behind them.
OTHER_SIZES = ("kernel_size", "filter_length", "pool_size", "pool_length", "strides",
               "subsample_length", "dilation_rate", "size", "length", "cropping", "padding",
               "target_shape", "n")
TRUSTED_MODULES = ("keras", "tf_keras", "tensorflow", "builtins")
MAX_SIZE = 1 << 24         # far beyond any Conv1D model's units, filters or kernel
MAX_INPUT = 1 << 28        # elements of one sample (1 GiB of float32)


def check_plausible(graph: ModelGraph, path: Path, trusted: Collection[str] = ()) -> None:
    """Raise LoadError for the first implausible size, input, non-finite weight or module.

    `trusted` names the classes given with --custom-objects, whose modules may be named.
    """
    for layer in graph.layers:
        dims = {d for w in layer.weights for d in w.shape}
        for key, value in sizes(layer.config):
            if key in WEIGHT_SIZES and layer.weights and value not in dims:
                raise LoadError(f"{path}: layer {layer.name} ({layer.class_name}) declares "
                                f"{key}={value}, but its weights have shapes "
                                f"{[list(w.shape) for w in layer.weights]}; the config does "
                                "not belong to these weights (damaged file?)")
            if value > MAX_SIZE or value < -1:  # -1: inferred (Reshape)
                raise LoadError(f"{path}: layer {layer.name} ({layer.class_name}) declares "
                                f"{key}={value}, not a plausible size; the file is damaged")
        check_input(layer, path)
        check_finite(layer, path)
        check_code_references(layer, path, trusted)


def sizes(config: Any, key: str = "") -> Iterator[tuple[str, int]]:
    """(key, integer) for every size-like integer in a (possibly nested) layer config."""
    stack = [(key, config)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((name, v) for v in value)
        elif isinstance(value, int) and not isinstance(value, bool) and (
                name in WEIGHT_SIZES or name in OTHER_SIZES):
            yield name, value


def check_input(layer: Layer, path: Path) -> None:
    """An input layer's fixed dimensions must fit in memory for the parity inputs."""
    for key in ("batch_shape", "batch_input_shape", "input_shape"):
        shape = layer.config.get(key)
        if not isinstance(shape, (list, tuple)):
            continue
        fixed = [d for d in shape[1 if key != "input_shape" else 0:] if isinstance(d, int)]
        if any(d < 0 for d in fixed) or int(np.prod(fixed, dtype=np.float64)) > MAX_INPUT:
            raise LoadError(f"{path}: input {layer.name} has shape {list(shape)}, "
                            f"more than {MAX_INPUT:,} elements per sample (or negative); "
                            "not a plausible Conv1D input")


def check_code_references(layer: Layer, path: Path, trusted: Collection[str]) -> None:
    """A config object naming a module outside Keras is code the file asks to import.

    The layer's own class is judged by the unsupported-layer check, which names the remedy;
    this looks at what its config holds (activations, initializers, wrapped layers).
    """
    stack: list[Any] = [layer.config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            module = value.get("module")
            if isinstance(module, str) and module.split(".")[0] not in TRUSTED_MODULES and \
                    value.get("class_name") not in trusted:
                raise LoadError(f"{path}: layer {layer.name} names {value.get('class_name')!r} "
                                f"from module {module!r}; converter never imports code a model "
                                "file names (a class you trust goes in --custom-objects "
                                "module:Class)")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def check_finite(layer: Layer, path: Path) -> None:
    """NaN or inf in a weight makes every output NaN: refuse, naming the weight."""
    for index, weight in enumerate(layer.weights):
        if np.issubdtype(weight.dtype, np.floating):
            bad = int(np.size(weight) - np.count_nonzero(np.isfinite(weight)))
            if bad:
                name = layer.weight_names[index] if index < len(layer.weight_names) else index
                raise LoadError(f"{path}: layer {layer.name} weight {name} holds {bad} NaN or "
                                f"inf value(s) of {weight.size}; the file is damaged or its "
                                "training diverged, and no converted file could compute numbers")
