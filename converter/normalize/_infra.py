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


WRAPPED_KEYS = ("layer", "backward_layer")
ConfigRewrite = Callable[[str, Mapping[str, Any]], tuple[dict[str, Any], list[str]]]


def rewrite_wrapped(config: dict[str, Any], notes: list[str], rewrite: ConfigRewrite) -> None:
    """Apply `rewrite(class_name, config)` to a wrapper's inner layer configs, in place.

    Bidirectional and TimeDistributed keep their inner layers as `{"class_name", "config"}`
    under `layer` (and `backward_layer`); each change is noted with the key it is under.
    """
    for key in WRAPPED_KEYS:
        inner = config.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("config"), Mapping):
            inner_config, inner_notes = rewrite(str(inner.get("class_name")), inner["config"])
            if inner_notes:
                config[key] = {**inner, "config": inner_config}
                notes.extend(f"{key}: {note}" for note in inner_notes)


def always(graph: ModelGraph) -> bool:
    """The default `applies` of a pass: every graph."""
    return True


@dataclass(frozen=True)
class ConfigPass:
    """A pass that rewrites layer configs one at a time.

    `rewrite(layer)` returns the new config and the changes it made, or None when the layer
    needs nothing; the pass is modified exactly when some layer's config changed. `applies`
    limits the pass to graphs it concerns (e.g. those from a Keras 1/2 source).
    """

    name: str
    rewrite: Callable[[Layer], tuple[Mapping[str, Any], list[str]] | None]
    applies: Callable[[ModelGraph], bool] = always

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Apply `rewrite` to every layer, as a LayerPass that changes only configs."""

        def whole_layer(layer: Layer) -> tuple[Layer, list[str]] | None:
            outcome = self.rewrite(layer)
            if outcome is None or dict(outcome[0]) == dict(layer.config):
                return None
            return replace(layer, config=dict(outcome[0])), outcome[1]

        return LayerPass(self.name, whole_layer, self.applies)(graph)


@dataclass(frozen=True)
class LayerPass:
    """A pass that rewrites whole layers (config, class and weights) one at a time.

    `rewrite(layer)` returns the new layer and its changes, or None when the layer needs
    nothing.
    """

    name: str
    rewrite: Callable[[Layer], tuple[Layer, list[str]] | None]
    applies: Callable[[ModelGraph], bool] = always

    def __call__(self, graph: ModelGraph) -> PassResult:
        """Apply `rewrite` to every layer."""
        if not self.applies(graph):
            return PassResult(graph, False)
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
