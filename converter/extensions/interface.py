"""The typed interface an expansion implements (see `converter.extensions`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from converter.artifacts import Layer, TensorRef
from converter.errors import LoadError
from converter.layers.spec import Shape


@dataclass(frozen=True)
class Fragment:
    """What an expansion returns: built-in layers (in graph order) and the layer's outputs.

    The fragment's layers read the expanded call's `inputs` or each other's outputs; their
    configs are in the same Keras 3 vocabulary a file would hold (normalisation passes run
    on them). `outputs[i]` replaces the expanded layer's output tensor i. `notes` go to the
    report's passes.
    """

    layers: tuple[Layer, ...]
    outputs: tuple[TensorRef, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredWeights:
    """A layer's stored weights, with the path each was stored under.

    Paths are relative to the layer: `residual_block_0/conv1D_0/vars/0` in a Keras 3
    archive, `residual_block_0/conv1D_0/kernel:0` in a Keras 2 HDF5 file (the layer's own
    name stripped); empty where the format keeps no names.
    """

    arrays: tuple[np.ndarray, ...]
    paths: tuple[str, ...] = field(default_factory=tuple)

    def under(self, prefix: str) -> list[tuple[str, np.ndarray]]:
        """(rest of the path, array) of every weight stored under `prefix/`, in order."""
        start = prefix.rstrip("/") + "/"
        return [(p[len(start):], a) for p, a in zip(self.paths, self.arrays, strict=False)
                if p.startswith(start)]


@runtime_checkable
class Expansion(Protocol):
    """Rewrites the layers of some classes into built-in layers.

    `class_names`: the classes it expands, as files name them. `library`: the library that
    defines them (for reports and `inspect`). `expand` gets the layer (its config), the
    tensors its one call read with their static shapes (batch axis excluded; None where a
    size is not known), and its stored weights; it raises `LoadError` naming the layer for a
    config it cannot expand (an unknown key). An expansion may also name, as
    `reference_module`, the library's module: where it is importable, the parity reference
    imports it and runs the original model itself instead of the expanded graph.
    """

    class_names: tuple[str, ...]
    library: str

    def expand(self, layer: Layer, inputs: tuple[TensorRef, ...], weights: StoredWeights,
               shapes: tuple[Shape | None, ...]) -> Fragment:
        """The fragment computing `layer` on `inputs`."""
        ...


def require_keys(layer: Layer, known: Sequence[str]) -> None:
    """Stop the load, naming the layer and the key, at a config key an expansion lacks."""
    unknown = [k for k in layer.config if k not in known]
    if unknown:
        raise LoadError(f"layer {layer.name} ({layer.class_name}): config key "
                        f"{unknown[0]!r} is not one converter's expansion knows; it could "
                        "change the numbers, so the layer is not expanded")
