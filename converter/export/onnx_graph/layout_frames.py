"""The axis orders of a graph's tensors, relative to each other, and who needs which.

Values joined by Transposes and by movable ops (layout_ops) form a component; within it,
each value is its component's reference tensor under a known permutation (its label). The
rest of the graph fixes labels: an op that is not movable (Conv, MatMul, Reshape, a
recurrent op) reads and writes its values as they are; so do the graph's inputs and outputs.
A tensor is a value produced by anything but a Transpose, with the Transposes of it (its
aliases): one tensor, several axis orders. Its readers each need one label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import onnx_ir as ir

from converter.export.onnx_graph.layout import constant, rank
from converter.export.onnx_graph.layout_ops import Perm, is_transpose, movable

Label = Perm


def chain(first: Perm, second: Perm) -> Perm:
    """The permutation of transposing by `first`, then by `second`."""
    return tuple(first[axis] for axis in second)


@dataclass
class Frames:
    """A union-find over values: each value is its parent transposed by its offset."""

    parent: dict[ir.Value, ir.Value] = field(default_factory=dict)
    offset: dict[ir.Value, Perm] = field(default_factory=dict)
    conflicted: set[ir.Value] = field(default_factory=set)

    def find(self, value: ir.Value) -> tuple[ir.Value, Perm]:
        """The value's root and its label: value = transpose(root, label)."""
        if value not in self.parent:
            self.parent[value] = value
            self.offset[value] = tuple(range(rank(value) or 0))
        above = self.parent[value]
        if above is value:
            return value, self.offset[value]
        root, label = self.find(above)
        self.parent[value], self.offset[value] = root, chain(label, self.offset[value])
        return root, self.offset[value]

    def join(self, first: ir.Value, second: ir.Value, perm: Perm) -> None:
        """Record that `second` is `first` transposed by `perm`."""
        root_a, label_a = self.find(first)
        root_b, label_b = self.find(second)
        wanted = chain(label_a, perm)
        if root_a is root_b:
            if wanted != label_b:
                self.conflicted.add(root_a)
            return
        inverse_b = tuple(label_b.index(axis) for axis in range(len(label_b)))
        self.parent[root_b], self.offset[root_b] = root_a, chain(wanted, inverse_b)
        if root_b in self.conflicted:
            self.conflicted.add(root_a)


@dataclass(frozen=True)
class Read:
    """One reading of a tensor.

    `node` reads `value` (the tensor or an alias) as input `index`; `node` None is a graph
    output slot. `op` is the reader when it is a movable op of the component (it needs the
    order it is given), else None (it needs `value`'s).
    """

    node: ir.Node | None
    index: int
    value: ir.Value
    op: ir.Node | None


@dataclass
class Tensor:
    """One tensor: the value something other than a Transpose produced, and its readings.

    `producer` is the movable op computing it (None: its label is fixed).
    """

    root: ir.Value
    producer: ir.Node | None
    reads: list[Read] = field(default_factory=list)


@dataclass
class Component:
    """Values sharing one reference tensor: their Transposes, movable ops and tensors."""

    transposes: list[ir.Node] = field(default_factory=list)
    ops: list[ir.Node] = field(default_factory=list)
    values: list[ir.Value] = field(default_factory=list)


def in_scope(value: ir.Value | None) -> bool:
    """A computed tensor of known rank (constants are re-laid out, never transposed)."""
    return value is not None and rank(value) is not None and constant(value) is None


def build(graph: ir.Graph, version: int) -> tuple[Frames, dict[ir.Value, Component]]:
    """Join the graph's values into components; returns the frames and each root's component."""
    frames = Frames()
    members: dict[ir.Node, str] = {}
    for node in graph:
        if is_transpose(node) and in_scope(node.inputs[0]):
            perm = node.attributes.get_ints("perm", None)
            source = node.inputs[0]
            assert source is not None
            count = rank(source) or 0
            frames.join(source, node.outputs[0],
                        tuple(range(count))[::-1] if perm is None else tuple(perm))
            members[node] = "transpose"
            continue
        frame = movable(node, version)
        if frame is None:
            continue
        values = [node.inputs[i] for i in frame.inputs] + [node.outputs[i] for i in frame.outputs]
        if not values or not all(v is not None and in_scope(v) and rank(v) == frame.rank
                                 for v in values):
            continue
        first = values[0]
        assert first is not None
        for value in values[1:]:
            assert value is not None
            frames.join(first, value, tuple(range(frame.rank)))
        members[node] = "op"
    components: dict[ir.Value, Component] = defaultdict(Component)
    for node, kind in members.items():
        source = node.inputs[0]
        assert source is not None
        component = components[frames.find(source)[0]]
        (component.transposes if kind == "transpose" else component.ops).append(node)
    for value in list(frames.parent):
        root = frames.find(value)[0]
        if root in components:
            components[root].values.append(value)
    return frames, {root: c for root, c in components.items()
                    if root not in frames.conflicted and c.transposes}


def tensors(component: Component) -> Iterator[Tensor]:
    """The component's tensors, each with every reading of it or of its aliases."""
    transposes = set(component.transposes)
    ops = set(component.ops)
    for value in component.values:
        producer = value.producer()
        if producer is not None and producer in transposes:
            continue
        tensor = Tensor(value, producer if producer in ops else None)
        gather_reads(tensor, value, transposes, ops)
        yield tensor


def gather_reads(tensor: Tensor, value: ir.Value, transposes: set[ir.Node],
                 ops: set[ir.Node]) -> None:
    """Add each reading of `value` and, through Transposes, of its aliases."""
    if value.is_graph_output():
        tensor.reads.append(Read(None, -1, value, None))
    for use in value.uses():
        reader, index = use.node, use.idx
        if reader in transposes:
            gather_reads(tensor, reader.outputs[0], transposes, ops)
        else:
            tensor.reads.append(Read(reader, index, value, reader if reader in ops else None))
