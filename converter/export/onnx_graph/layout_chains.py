"""Pass: a chain of layout-only nodes -> nothing, or one Transpose.

Given: after `native_1d`, tf2onnx's Unsqueeze/Transpose/Reshape before each convolution meet
the Squeeze inserted before the 1-D op (and the inserted Unsqueeze after it meets tf2onnx's
Squeeze), so most chains mean nothing at all.
Result: each maximal chain (every intermediate value read only by the next node) whose
composed axis map keeps all axes in order is removed; one that only reorders axes becomes
one Transpose. Chains that add or drop axes overall are left as they are.
"""

from __future__ import annotations

import onnx_ir as ir

from converter.export.onnx_graph.layout import (
    LAYOUT_OPS,
    AxisMap,
    as_permutation,
    axis_map,
    compose,
    is_op,
    rank,
    take_over,
)
from converter.export.onnx_graph.values import typed_like


def run(model: ir.Model) -> int:
    """Collapse every collapsible chain; returns how many nodes were removed."""
    graph, removed = model.graph, 0
    copies = unshare(graph)
    done: set[int] = set()
    for node in list(graph):
        if id(node) in done or node.graph is not graph:
            continue
        chain, maps, rank_in = layout_chain(node)
        done.update(id(n) for n in chain)
        removed += collapse_prefix(graph, chain, maps, rank_in)
    for copy, original in copies:  # a copy whose chain did not collapse goes back
        if copy.graph is graph and original.graph is graph:
            copy.outputs[0].replace_all_uses_with(original.outputs[0])
            graph.remove(copy, safe=True)
    return removed


def collapse_prefix(
    graph: ir.Graph, chain: list[ir.Node], maps: list[AxisMap], rank_in: int | None
) -> int:
    """Collapse the longest start of the chain that collapses.

    A chain that ends in a Reshape dropping a size-1 axis can start with an
    Unsqueeze/Squeeze pair that cancels.
    """
    for end in range(len(maps), 0, -1):
        removed = collapse(graph, chain[:end], maps[end - 1], rank_in)
        if removed:
            return removed
    return 0


def unshare(graph: ir.Graph) -> list[tuple[ir.Node, ir.Node]]:
    """Give each layout reader of a shared layout node's output its own copy of that node.

    An Unsqueeze read by two convolutions' Squeezes becomes two Unsqueezes, so each chain is
    a line and cancels on its own; copies of layout nodes cost nothing once collapsed.
    Returns each (copy, original), so a copy whose chain stays can be merged back.
    """
    copies = []
    for node in list(graph):
        value = node.outputs[0] if node.outputs else None
        if value is None or not is_layout(node) or value.is_graph_output():
            continue
        readers = value.consumers()
        if len(readers) < 2 or not all(is_layout(r) for r in readers):
            continue
        for reader in readers[1:]:
            copy = ir.node(node.op_type, list(node.inputs),
                           {k: a.value for k, a in node.attributes.items()})
            typed_like(copy.outputs[0], value)
            graph.insert_before(reader, copy)
            for index, argument in enumerate(reader.inputs):
                if argument is value:
                    reader.replace_input_with(index, copy.outputs[0])
            copies.append((copy, node))
    return copies


def is_layout(node: ir.Node) -> bool:
    """Whether a node is a layout node (its map is computable for some input rank)."""
    return is_op(node, *LAYOUT_OPS) and len(node.outputs) == 1


def layout_chain(start: ir.Node) -> tuple[list[ir.Node], list[AxisMap], int | None]:
    """The longest chain of layout nodes from `start`, its composed maps and input rank.

    One map per start of the chain (its first node, its first two...).
    """
    rank_in = rank(start.inputs[0]) if start.inputs and start.inputs[0] is not None else None
    if rank_in is None:
        return [start], [], None
    mapping = axis_map(start, rank_in)
    if mapping is None:
        return [start], [], None
    chain, maps = [start], [mapping]
    while True:
        value = chain[-1].outputs[0]
        users = value.consumers()
        if value.is_graph_output() or len(users) != 1 or len(users[0].inputs) < 1:
            break
        following = users[0]
        if following.inputs[0] is not value:
            break
        step = axis_map(following, len(mapping))
        if step is None:
            break
        chain.append(following)
        mapping = compose(mapping, step)
        maps.append(mapping)
    return chain, maps, rank_in


def collapse(
    graph: ir.Graph, chain: list[ir.Node], mapping: AxisMap | None, rank_in: int | None
) -> int:
    """Replace the chain by nothing or one Transpose; returns the nodes removed."""
    source, last = chain[0].inputs[0], chain[-1].outputs[0]
    assert source is not None
    permutation = None if mapping is None else as_permutation(mapping, source.shape)
    if permutation is None or rank_in is None:
        return 0
    if permutation == tuple(range(rank_in)) and mapping is not None and len(mapping) == rank_in:
        if last.is_graph_output():
            return 0  # the graph output's name must survive; keep the chain
        last.replace_all_uses_with(source)
        graph.remove(list(reversed(chain)), safe=True)
        return len(chain)
    if len(chain) == 1:
        return 0  # already a single Transpose
    transpose = ir.node("Transpose", [source], {"perm": list(permutation)}, name=chain[-1].name)
    graph.insert_before(chain[0], transpose)
    take_over(last, transpose.outputs[0])
    typed_like(transpose.outputs[0], last)
    graph.remove(list(reversed(chain)), safe=True)
    return len(chain) - 1
