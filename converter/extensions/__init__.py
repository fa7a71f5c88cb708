"""Expansions: another library's layer class rewritten into built-in layers.

A file built with a third-party layer (keras-tcn's `TCN`) names a class no Keras here
knows. An expansion reads only that layer's config and stored weights (nothing from the
library or the file runs) and returns a graph fragment of built-in layers that computes the
same numbers; the `expand_layers` normalisation pass puts the fragment in the layer's place.

Writing one (a package of your own; see README "Expansions"):

    from converter.extensions import Expansion, Fragment, StoredWeights

    class ScaledDense:
        class_names = ("ScaledDense",)
        library = "my-layers"
        def expand(self, layer, inputs, weights, shapes): ...  # -> Fragment

    EXPANSION = ScaledDense()

and register it in your package's metadata under the entry-point group
`converter.expansions` (pyproject: `[project.entry-points."converter.expansions"]
scaled_dense = "my_layers.converter:EXPANSION"`). `converter inspect` lists what is
installed. keras-tcn's expansion (`keras_tcn`) is built in and goes through the same path.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from converter.extensions.interface import Expansion, Fragment, StoredWeights, require_keys

__all__ = ["GROUP", "Expansion", "Fragment", "Installed", "StoredWeights", "installed",
           "require_keys"]

GROUP = "converter.expansions"


@dataclass(frozen=True)
class Installed:
    """The expansions found, by class name, and the entry points that failed to load."""

    by_class: dict[str, Expansion]
    sources: dict[str, str]
    broken: tuple[str, ...] = ()


def builtin() -> list[tuple[str, Expansion]]:
    """The expansions converter ships, with where each comes from."""
    from converter.extensions.keras_tcn import EXPANSION as KERAS_TCN

    return [("converter (built in)", KERAS_TCN)]


def installed() -> Installed:
    """Every expansion: built in first, then each installed package's entry points.

    An entry point that fails to load, or loads something that is not an Expansion, is
    listed as broken with why; it never stops a conversion of a model that does not need it.
    """
    found: list[tuple[str, Expansion]] = builtin()
    broken: list[str] = []
    for point in importlib.metadata.entry_points(group=GROUP):
        where = f"{point.dist.name if point.dist else '?'}: {point.name} = {point.value}"
        try:
            loaded = point.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, not fatal
            broken.append(f"{where} ({type(exc).__name__}: {exc})")
            continue
        if not isinstance(loaded, Expansion):
            broken.append(f"{where} (not an Expansion: it lacks class_names, library or expand)")
            continue
        found.append((where, loaded))
    by_class: dict[str, Expansion] = {}
    sources: dict[str, str] = {}
    for where, expansion in found:
        for name in expansion.class_names:
            by_class.setdefault(name, expansion)
            sources.setdefault(name, where)
    return Installed(by_class, sources, tuple(broken))
