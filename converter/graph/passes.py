"""The one pass contract: a pass maps a graph to a PassResult; `run_passes` runs them.

Normalisation, option and export-time passes all follow it, over the ModelGraph or, for the
ONNX passes (`export.onnx_graph`), over an onnx-ir Model: a `name`, a `__call__(graph)`
returning the new graph, whether it changed anything and what (one line per change, or a
summary with a `count`), and a docstring that says "Given ... Result ...". Running a pass on
its own output reports modified=False. `graph.pipeline` decides which graph passes a
conversion runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from converter.artifacts import Layer, ModelGraph, PassRecord, TensorRef
from converter.errors import ConverterError, InternalError, NormalizeError, UsageError
from converter.layers import inner_layers

G = TypeVar("G")


@dataclass(frozen=True)
class PassResult(Generic[G]):
    """A pass's output graph, whether it changed anything, and what.

    `changes` has one line per change, or one summary line where the pass counts its changes
    (`count`: how many, e.g. ONNX nodes rewritten).
    """

    graph: G
    modified: bool
    changes: tuple[str, ...] = ()
    count: int | None = None

    @property
    def size(self) -> int:
        """How many changes the pass made."""
        return len(self.changes) if self.count is None else self.count


class Pass(Protocol[G]):
    """A graph-to-graph rewrite whose docstring says "Given ... Result ..."."""

    @property
    def name(self) -> str:
        """The pass's name in records and errors (unique in a plan)."""
        ...

    def __call__(self, graph: G) -> PassResult[G]:
        """Rewrite the graph; must report modified=False when run on its own output."""
        ...


# The passes over the framework-free graph (normalisation, options, export shaping).
GraphPass: TypeAlias = Pass[ModelGraph]
GraphResult: TypeAlias = PassResult[ModelGraph]


ConfigRewrite = Callable[[str, Mapping[str, Any]], tuple[dict[str, Any], list[str]]]


def rewrite_wrapped(config: dict[str, Any], notes: list[str], rewrite: ConfigRewrite) -> None:
    """Apply `rewrite(class_name, config)` to a wrapper's inner layer configs, in place.

    Bidirectional and TimeDistributed keep their inner layers as `{"class_name", "config"}`
    under `layer` (and `backward_layer`); each change is noted with the key it is under.
    """
    for key, class_name, inner in list(inner_layers(config)):
        inner_config, inner_notes = rewrite(class_name, inner)
        if inner_notes:
            config[key] = {**config[key], "config": inner_config}
            notes.extend(f"{key}: {note}" for note in inner_notes)


def reading(layer: Layer, moved: Mapping[TensorRef, TensorRef]) -> Layer:
    """The layer with every input `moved` names read from its new place."""
    return replace(layer, calls=tuple(
        replace(call, inputs=tuple(moved.get(r, r) for r in call.inputs))
        for call in layer.calls))


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

    def __call__(self, graph: ModelGraph) -> GraphResult:
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

    def __call__(self, graph: ModelGraph) -> GraphResult:
        """Apply `rewrite` to every layer."""
        if not self.applies(graph):
            return PassResult(graph, False)
        layers: list[Layer] = []
        changes: list[str] = []
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


def run_passes(
    graph: ModelGraph, passes: Sequence[GraphPass], keep_unmodified: bool = True,
) -> tuple[ModelGraph, list[PassRecord]]:
    """Run passes in order; a failing pass stops the pipeline naming it and those before it.

    Every pass is recorded, or with `keep_unmodified` False only those that changed the
    graph. A usage error (an option the graph cannot take) stays one.
    """
    names = [p.name for p in passes]
    if len(set(names)) != len(names):
        raise InternalError(f"pass names must be unique: {names}")
    records: list[PassRecord] = []
    done: list[str] = []
    for current in passes:
        try:
            result = current(graph)
        except UsageError:
            raise
        except ConverterError as exc:
            raise NormalizeError(current.name, done, exc.message) from exc
        graph = result.graph
        done.append(current.name)
        if result.modified or keep_unmodified:
            records.append(PassRecord(current.name, result.modified, result.changes))
    return graph, records
