"""Pass: one node order and one set of names for a given graph, whatever tf2onnx chose.

Given: tf2onnx numbers the names it invents from a process-wide counter
(`const_fold_opt__169`, `unk__182`) and orders independent branches and initializers
differently from run to run, so two conversions of one model differ in bytes.
Result: nodes in a topological order that breaks ties by counter-free name, counters
dropped from every name (duplicates numbered in that order), initializers in order of first
use (those tf2onnx made up a name for, without a layer scope, named const, const_1, ... by
that order: tf2onnx gives equal constants different names in different runs), each node
named after its first output, symbolic dims of the inputs and outputs named by position,
intermediate shapes cleared (onnxruntime infers them). The graph computes the same thing;
the bytes depend only on the graph.
"""

from __future__ import annotations

import hashlib
import heapq
import re

import onnx_ir as ir

COUNTER = re.compile(r"(__\d+)+")


def base_name(name: str | None, fallback: str) -> str:
    """A name without tf2onnx's counters."""
    cleaned = COUNTER.sub("", name or "")
    return cleaned.replace("const_fold_opt", "const") or fallback


def run(model: ir.Model) -> int:
    """Reorder and rename; returns the number of values renamed."""
    canonical_order(model.graph)
    return rename(model.graph)


def canonical_order(graph: ir.Graph) -> None:
    """Nodes in the stable order, initializers in order of first use by those nodes.

    Passes that keep the first of equal things (duplicate initializers, common
    subexpressions) run after this, so which one survives no longer depends on tf2onnx.
    """
    order = stable_order(graph)
    graph.remove(list(graph), safe=False)
    graph.extend(order)
    initializers = {id(v): v for v in graph.initializers.values()}
    used = [v for node in order for v in node.inputs
            if v is not None and id(v) in initializers]
    unused = [v for v in initializers.values() if v not in used]
    graph.initializers.clear()
    for value in dict.fromkeys([*used, *unused]):
        graph.register_initializer(value)


def stable_order(graph: ir.Graph) -> list[ir.Node]:
    """Kahn's algorithm, the ready node with the smallest structural key first.

    The key is the counter-free output name and op type, then what the node reads: the
    position of each producer already placed, an initializer's content, an input's name,
    then the attributes. Names alone tie where tf2onnx made them up (`Slice__12`,
    `Slice__40`), and which of the two came first would change from run to run.
    """
    nodes = list(graph)
    position = {id(n): i for i, n in enumerate(nodes)}
    waiting = {id(n): sum(1 for v in n.inputs if v is not None and v.producer() is not None
                          and id(v.producer()) in position) for n in nodes}
    placed: dict[int, int] = {}

    def key(node: ir.Node) -> tuple[object, ...]:
        return (*node_key(node), tuple(source_key(v, placed) for v in node.inputs),
                repr(sorted((k, str(a)) for k, a in node.attributes.items())))

    ready = [(key(n), position[id(n)], n) for n in nodes if waiting[id(n)] == 0]
    heapq.heapify(ready)
    order: list[ir.Node] = []
    while ready:
        _, _, node = heapq.heappop(ready)
        placed[id(node)] = len(order)
        order.append(node)
        for value in node.outputs:
            for user in value.consumers():
                if id(user) not in position:
                    continue
                waiting[id(user)] -= sum(1 for v in user.inputs if v is value)
                if waiting[id(user)] == 0:
                    heapq.heappush(ready, (key(user), position[id(user)], user))
    if len(order) != len(nodes):
        raise ValueError("the ONNX graph has a cycle")
    return order


def source_key(value: ir.Value | None, placed: dict[int, int]) -> tuple[object, ...]:
    """Where an input comes from, without names tf2onnx chose: producer position, content."""
    if value is None:
        return ("none",)
    producer = value.producer()
    if producer is not None and id(producer) in placed:
        return ("node", placed[id(producer)], value.index() or 0)
    if value.const_value is not None:
        data = value.const_value.numpy()
        return ("const", str(data.dtype), data.shape,
                hashlib.sha256(data.tobytes()).hexdigest())
    return ("input", value.name or "")


def node_key(node: ir.Node) -> tuple[str, str]:
    """Counter-free output name and op type: the first part of the order's key."""
    return base_name(node.outputs[0].name if node.outputs else None, ""), node.op_type


def rename(graph: ir.Graph) -> int:
    """Counter-free unique names in node order; initializers re-registered by first use."""
    fixed = {v.name for v in (*graph.inputs, *graph.outputs)}
    initializers = {id(v): v for v in graph.initializers.values()}
    graph.initializers.clear()
    used: dict[str, int] = {}
    renamed = 0

    def give(value: ir.Value, fallback: str, before: str | None = None) -> None:
        nonlocal renamed
        if value.name in fixed:
            return
        base = base_name(value.name, fallback)
        count = used.get(base, 0)
        used[base] = count + 1
        name = base if count == 0 and base not in fixed else f"{base}_{count}"
        renamed += name != (value.name if before is None else before)
        value.name = name

    seen: set[int] = set()
    for index, node in enumerate(graph):
        for value in node.inputs:
            if value is not None and id(value) in initializers and id(value) not in seen:
                seen.add(id(value))
                before = value.name
                if "/" not in (value.name or ""):  # a name tf2onnx made up, differently
                    value.name = "const"            # in each run: numbered by first use
                give(value, "const", before)
                value.const_value.name = value.name  # type: ignore[union-attr]
                graph.register_initializer(value)
        for value in node.outputs:
            give(value, f"{node.op_type.lower()}")
            if not value.is_graph_output():
                value.shape, value.type = None, None
        # A node is named after its first output: the layer's name scope stays readable.
        node.name = node.outputs[0].name if node.outputs else f"{node.op_type}_{index}"
    for value in (*graph.inputs, *graph.outputs):
        if value.shape is not None:
            value.shape = ir.Shape([d if isinstance(d, int) else f"{value.name}_dim{axis}"
                                    for axis, d in enumerate(value.shape)])
    return renamed
