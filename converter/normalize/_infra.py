"""Pass infrastructure: a pass maps a ModelGraph to a PassResult, the manager runs them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from converter.artifacts import Layer, ModelGraph, PassRecord
from converter.errors import ConverterError, InternalError, NormalizeError


@dataclass(frozen=True)
class PassResult:
    """A pass's output graph, whether it changed anything, and what (one line per change)."""

    graph: ModelGraph
    modified: bool
    changes: tuple[str, ...] = ()


class Pass(Protocol):
    """A graph-to-graph rewrite whose docstring says "Given ... Result ..."."""

    name: str

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Rewrite the graph; must report modified=False when run on its own output."""
        ...


@dataclass(frozen=True)
class ConfigPass:
    """A pass that rewrites layer configs one at a time.

    `rewrite(layer)` returns the new config and the changes it made, or None when the layer
    needs nothing; the pass is modified exactly when some layer's config changed.
    """

    name: str
    rewrite: Callable[[Layer], tuple[Mapping[str, Any], list[str]] | None]

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Apply `rewrite` to every layer."""
        layers, changes = [], []
        for layer in graph.layers:
            outcome = self.rewrite(layer)
            if outcome is None or dict(outcome[0]) == dict(layer.config):
                layers.append(layer)
                continue
            config, notes = outcome
            layers.append(replace(layer, config=dict(config)))
            changes.extend(f"{layer.name}: {note}" for note in notes)
        if not changes:
            return PassResult(graph, False)
        return PassResult(replace(graph, layers=tuple(layers)), True, tuple(changes))


@dataclass(frozen=True)
class LayerPass:
    """A pass that rewrites whole layers (config, class and weights) one at a time.

    `rewrite(layer)` returns the new layer and its changes, or None when the layer needs
    nothing.
    """

    name: str
    rewrite: Callable[[Layer], tuple[Layer, list[str]] | None]

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Apply `rewrite` to every layer."""
        layers, changes = [], []
        for layer in graph.layers:
            outcome = self.rewrite(layer)
            if outcome is None:
                layers.append(layer)
                continue
            new, notes = outcome
            layers.append(new)
            changes.extend(f"{layer.name}: {note}" for note in notes)
        if not changes:
            return PassResult(graph, False)
        return PassResult(replace(graph, layers=tuple(layers)), True, tuple(changes))


def run_passes(graph: ModelGraph, passes: Sequence[Pass]) -> tuple[ModelGraph, list[PassRecord]]:
    """Run passes in order; a failing pass stops the pipeline naming it and those before it."""
    names = [p.name for p in passes]
    if len(set(names)) != len(names):
        raise InternalError(f"pass names must be unique: {names}")
    records: list[PassRecord] = []
    for current in passes:
        try:
            result = current(graph)
        except ConverterError as exc:
            raise NormalizeError(current.name, [r.name for r in records], exc.message) from None
        graph = result.graph
        records.append(PassRecord(current.name, result.modified, result.changes))
    return graph, records
