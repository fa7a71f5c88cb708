"""Pass: one layout for every tensor, chosen so that the graph needs as few Transposes as it can.

Given: tf2onnx lays a Keras model out channels-last and wraps each channels-first op (Conv,
pooling, BatchNormalization) in Transposes; the ops between (activations, residual Adds,
Concats, pads, reductions) stay channels-last, so a residual network keeps a Transpose pair
per conv, wherever a tensor has several readers.
Result: per component of tensors joined by Transposes and movable ops (layout_frames), each
movable op is given the axis order that minimises the Transposes left, every other op keeps
its own. A tensor whose readers need an order it is not in gets one Transpose per order
needed. The choice is exact where a component holds two orders (a minimum cut, min_cut.py)
and improved by swap moves between pairs of orders where it holds more. Applied only where
it removes Transposes; the count is how many.
"""

from __future__ import annotations

from itertools import combinations

import onnx_ir as ir
import onnx_ir.passes.common as common_passes

from converter.export.onnx_graph.layout import opset
from converter.export.onnx_graph.layout_frames import (
    Component,
    Frames,
    Label,
    Read,
    Tensor,
    build,
    chain,
    tensors,
)
from converter.export.onnx_graph.layout_ops import allowed, inverse, relabel
from converter.export.onnx_graph.min_cut import SINK, SOURCE, Cut
from converter.export.onnx_graph.values import typed_like

Assignment = dict[ir.Node, Label]
# What leaving an op's current order costs in the cut: it breaks ties towards no change.
CHANGE = 1e-3
MAX_SWEEPS = 4


def run(model: ir.Model) -> int:
    """Lay out every component anew where that saves Transposes; returns how many it saves."""
    graph, version = model.graph, opset(model)
    common_passes.RemoveUnusedNodesPass()(model)  # a dead reader needs no order
    frames, components = build(graph, version)
    saved = 0
    for component in components.values():
        parts = list(tensors(component))
        current = {op: label_of(frames, op) for op in component.ops}
        best = optimise(frames, parts, current, version)
        fewer = len(component.transposes) - cost(frames, parts, best)
        if fewer > 0:
            Rewrite(graph, frames, best, version).apply(component, parts, current)
            saved += fewer
    return saved


def label_of(frames: Frames, op: ir.Node) -> Label:
    """The order a movable op computes in now (its first input's)."""
    source = op.inputs[0]
    assert source is not None
    return frames.find(source)[1]


def relative(current: Label, wanted: Label) -> Label:
    """The permutation q with transpose(value in `current`, q) in `wanted`."""
    return chain(inverse(current), wanted)


def needed(frames: Frames, read: Read, assignment: Assignment) -> Label:
    """The order one reading needs: a movable reader's own, else the order it reads now."""
    return assignment[read.op] if read.op is not None else frames.find(read.value)[1]


def made(frames: Frames, tensor: Tensor, assignment: Assignment) -> Label:
    """The order a tensor is produced in."""
    if tensor.producer is not None:
        return assignment[tensor.producer]
    return frames.find(tensor.root)[1]


def cost(frames: Frames, parts: list[Tensor], assignment: Assignment) -> int:
    """Transposes the assignment needs: per tensor, one per order read but not produced."""
    total = 0
    for tensor in parts:
        produced = made(frames, tensor, assignment)
        total += len({needed(frames, r, assignment) for r in tensor.reads} - {produced})
    return total


def optimise(frames: Frames, parts: list[Tensor], current: Assignment,
             version: int) -> Assignment:
    """Swap moves between every pair of orders until none lowers the cost."""
    labels = sorted({made(frames, t, current) for t in parts}
                    | {needed(frames, r, current) for t in parts for r in t.reads})
    best, best_cost = dict(current), cost(frames, parts, current)
    for _ in range(MAX_SWEEPS):
        improved = False
        for alpha, beta in combinations(labels, 2):
            trial = swap(frames, parts, best, (alpha, beta), current, version)
            trial_cost = cost(frames, parts, trial)
            if trial_cost < best_cost:
                best, best_cost, improved = trial, trial_cost, True
        if not improved:
            break
    return best


def swap(frames: Frames, parts: list[Tensor], assignment: Assignment,
         pair: tuple[Label, Label], current: Assignment, version: int) -> Assignment:
    """The best assignment where ops now in either order of `pair` may take the other."""
    alpha, beta = pair
    free = {op for op, label in assignment.items() if label in pair
            and all(allowed(op, relative(current[op], other), version) for other in pair)}
    cut = Cut()
    for op in free:
        cut.unary(op, CHANGE if current[op] != alpha else 0.0,
                  CHANGE if current[op] != beta else 0.0)
    for tensor in parts:
        readers = [r.op for r in tensor.reads if r.op in free]
        fixed = {needed(frames, r, assignment) for r in tensor.reads if r.op not in free}
        if tensor.producer in free:
            produced = cut.node(tensor.producer)
            if alpha in fixed:
                cut.unary(tensor.producer, 0.0, 1.0)
            elif readers:
                cut.zero_then_one(cut.any_is(0, readers), produced, 1.0)
            if beta in fixed:
                cut.unary(tensor.producer, 1.0, 0.0)
            elif readers:
                cut.zero_then_one(produced, cut.any_is(1, readers), 1.0)
            continue
        produced_label = made(frames, tensor, assignment)
        if readers and alpha != produced_label and alpha not in fixed:
            cut.edge(cut.any_is(0, readers), SINK, 1.0)
        if readers and beta != produced_label and beta not in fixed:
            cut.edge(SOURCE, cut.any_is(1, readers), 1.0)
    chosen = cut.solve()
    return {op: (beta if chosen.get(op) else alpha) if op in free else label
            for op, label in assignment.items()}


class Rewrite:
    """Applies an assignment: ops relabelled, one Transpose per tensor and order needed."""

    def __init__(self, graph: ir.Graph, frames: Frames, assignment: Assignment,
                 version: int) -> None:
        self.graph, self.frames, self.assignment, self.version = (
            graph, frames, assignment, version)

    def apply(self, component: Component, parts: list[Tensor], current: Assignment) -> None:
        """Rewrite the component in place."""
        for op, label in self.assignment.items():
            if label != current[op]:
                relabel(self.graph, op, relative(current[op], label), self.version)
        for tensor in parts:
            self.provide(tensor)
        self.graph.remove(list(reversed(component.transposes)), safe=True)

    def provide(self, tensor: Tensor) -> None:
        """Give each reading of the tensor a value in the order it needs."""
        produced = made(self.frames, tensor, self.assignment)
        providers: dict[Label, ir.Value] = {produced: tensor.root}
        outputs: list[tuple[int, ir.Value]] = []
        aliases = list({id(r.value): r.value for r in tensor.reads
                        if r.value is not tensor.root}.values())
        for read in tensor.reads:
            label = needed(self.frames, read, self.assignment)
            if label not in providers:
                providers[label] = self.transposed(tensor, produced, label, aliases)
            if read.node is None:
                outputs.append((self.graph.outputs.index(read.value), read.value))
            elif read.node.inputs[read.index] is not providers[label]:
                read.node.replace_input_with(read.index, providers[label])
        for position, value in outputs:
            label = self.frames.find(value)[1]
            self.become_output(position, value, providers[label])

    def transposed(self, tensor: Tensor, produced: Label, label: Label,
                   aliases: list[ir.Value]) -> ir.Value:
        """A new Transpose of the tensor into `label`, after its producer.

        It takes the name of a Transpose it replaces that gave the same order (names carry
        the Keras scopes).
        """
        root = tensor.root
        perm = relative(produced, label)
        node = ir.node("Transpose", [root], {"perm": list(perm)})
        producer = root.producer()
        if producer is not None:
            self.graph.insert_after(producer, node)
        else:
            self.graph.insert_before(next(iter(self.graph)), node)
        value = node.outputs[0]
        typed_like(value, root)
        value.shape = None if root.shape is None else ir.Shape([root.shape[a] for a in perm])
        for previous in aliases:
            if self.frames.find(previous)[1] == label and previous.name and (
                    not previous.is_graph_output()):
                name = previous.name
                previous.name = f"{name}_replaced"
                value.name = name
                break
        return value

    def become_output(self, position: int, old: ir.Value, provider: ir.Value) -> None:
        """Graph output `position` (named as before) is now `provider`."""
        if provider is old:
            return
        if provider.is_graph_input() or provider.is_graph_output():
            identity = ir.node("Identity", [provider])
            self.graph.append(identity)
            provider = identity.outputs[0]
            typed_like(provider, old)
        name = old.name
        old.name = f"{name}_replaced"
        self.graph.outputs[position] = provider
        provider.name = name
