"""Which layout each node of a dynamic-length graph computes in, for conv_layouts.

A layout is an int. FLAT (0) is the graph's own (N, C, L). d > 1 is rows of d, (N, C, L/d,
d), whose columns are the phases of dilation d, so a conv of dilation d is a (k, 1) conv down
the rows; -d is the same split with the phases as rows, (N, C, d, L/d), a (1, k) conv along
them; PLANE (-1) is (N, C, 1, L), any conv as a (1, k) Conv2D with its own dilation.
onnxruntime runs 4-D convs through its NCHWc kernels, which fuse the Relu and the Add that
follow, and prefers the long axis last. Measured on chains of 8 Conv+Relu (32 channels,
length 15,000, 2 threads): k=41 d=25 62.8 ms native, 36.5 in rows, 40.2 in phases; k=21
d=10 34.8, 24.4, 17.9; k=11 d=4 18.7, 15.3, 9.9. The TCN sample (16 channels, d=1-4):
0.185 ms with native 1-D convs, 0.145 ms in PLANE. So a conv of dilation >= MIN_DILATION
with MIN_MACS of work per step (and padding by whole rows) takes rows of its dilation, in
phases below PHASES_BELOW; any other conv with a kernel wider than 1 takes PLANE. The ops
between convs (elementwise, per-channel, 1x1 convs, crops of whole rows, Concat of channels)
take the layout of their widest input, then chains of them move wherever that leaves fewer
Reshape/Transpose nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx_ir as ir

from converter.export.onnx_graph import tail_padding
from converter.export.onnx_graph.layout import constant, is_op
from converter.export.onnx_graph.tail_padding import (
    BINARY,
    UNARY,
    Tracking,
    conv_pads,
    slice_bounds,
)

FLAT = 0
PLANE = -1
MIN_DILATION = 4
PHASES_BELOW = 16
# Multiply-adds per output step below which a conv stays native: the TCN sample's 16x16x3
# convs ran 15% slower in rows (0.216 vs 0.188 ms at length 2,000), the pad's fixed cost
# outweighing the kernel's gain; SpliceAI's smallest dilated conv has 32x32x11.
MIN_MACS = 8192


@dataclass
class Plan:
    """The layout of every node and value not computed flat."""

    nodes: dict[ir.Node, int] = field(default_factory=dict)
    layouts: dict[ir.Value, int] = field(default_factory=dict)

    def of(self, value: ir.Value) -> int:
        """A value's layout."""
        return self.layouts.get(value, FLAT)

    def place(self, node: ir.Node, layout: int) -> None:
        """Compute `node` (and so its output) in `layout`."""
        self.nodes.pop(node, None)
        self.layouts.pop(node.outputs[0], None)
        if layout != FLAT:
            self.nodes[node] = layout
            self.layouts[node.outputs[0]] = layout


def conversion_cost(source: int, target: int) -> int:
    """How many nodes turn `source` into `target`.

    A Transpose out of phases, a Reshape if the arrangement in memory differs, a Transpose
    into phases (PLANE is the flat order: a Reshape in or out).
    """
    if source == target:
        return 0
    return (source < PLANE) + (memory_shape(source) != memory_shape(target)) + (target < PLANE)


def memory_shape(layout: int) -> list[int]:
    """The Reshape target that holds a layout's values in memory order (phases: as rows)."""
    if layout == FLAT:
        return [0, 0, -1]
    return [0, 0, 1, -1] if layout == PLANE else [0, 0, -1, abs(layout)]


def make_plan(graph: ir.Graph, tracking: Tracking, rows: bool) -> Plan:
    """Convs in their layout (rows only where `rows`), the rest as the module docstring says."""
    plan = Plan()
    for node in graph:
        layout = conv_layout(node, tracking, rows)
        if layout is None:
            ins = sorted({plan.of(v) for v in node.inputs if v is not None} - {FLAT},
                         key=abs, reverse=True)
            layout = next((x for x in ins if layout_free(node, x, tracking)), None)
        if layout is not None:
            plan.place(node, layout)
    settle(graph, plan, tracking, rows)
    return plan


MAX_ROUNDS = 8


def settle(graph: ir.Graph, plan: Plan, tracking: Tracking, rows: bool) -> None:
    """Move chains of layout-free nodes wherever that leaves fewer conversion nodes.

    A chain is a node with the nodes that only it reads (upstream) or that alone read it
    (downstream): a residual unit's BN and Relu move into the layout of the conv they feed,
    so the unit's input is converted once for them and for the residual Add; a skip
    accumulator's Adds move to the layout of the output they end in.
    """
    movable = [n for n in graph if conv_layout(n, tracking, rows) is None and len(n.outputs) == 1
               and layout_free(n, PLANE, tracking)]
    for _ in range(MAX_ROUNDS):
        improved = False
        for node in movable:
            for chain, pull in ((downstream(node, movable), False),
                                (upstream(node, movable, tracking), True)):
                layouts = sorted({FLAT, *plan.nodes.values()})
                best = min(layouts, key=lambda x: chain_cost(chain, x, plan, tracking))
                now = chain_cost(chain, None, plan, tracking)
                # A tie that pulls the layout its readers compute in up the chain lets the
                # chain's siblings share one conversion later (a residual unit's BN and the
                # crop of its shortcut both read the unit's input).
                wanted = read_as(chain[0], plan) if pull else None
                if wanted not in (None, FLAT, plan.nodes.get(chain[0], FLAT)) and (
                        chain_cost(chain, wanted, plan, tracking) == now):
                    best = wanted
                elif chain_cost(chain, best, plan, tracking) >= now:
                    continue
                for member in chain:
                    plan.place(member, best)
                improved = True
        if not improved:
            return


def read_as(node: ir.Node, plan: Plan) -> int | None:
    """The one layout every reader of a node's output computes in, if they agree on one."""
    output = node.outputs[0]
    wanted = {plan.nodes.get(user, FLAT) for user in output.consumers()}
    if output.is_graph_output():
        wanted.add(FLAT)
    return wanted.pop() if len(wanted) == 1 else None


def downstream(node: ir.Node, movable: list[ir.Node]) -> list[ir.Node]:
    """`node` and the chain of nodes each of which alone reads the one before."""
    chain = [node]
    while len(readers := chain[-1].outputs[0].consumers()) == 1 and (
            not chain[-1].outputs[0].is_graph_output()) and readers[0] in movable and (
            readers[0] not in chain):
        chain.append(readers[0])
    return chain


def upstream(node: ir.Node, movable: list[ir.Node], tracking: Tracking) -> list[ir.Node]:
    """`node` and the chain of nodes each of which only the one after it reads."""
    chain = [node]
    while True:
        sources = [v for v in chain[-1].inputs if v is not None and v in tracking.tracks]
        producer = sources[0].producer() if len(sources) == 1 else None
        if producer is None or producer not in movable or producer in chain or len(
                sources[0].consumers()) != 1 or sources[0].is_graph_output():
            return chain
        chain.append(producer)


def chain_cost(chain: list[ir.Node], layout: int | None, plan: Plan,
               tracking: Tracking) -> float:
    """Conversion nodes around the chain's values with the chain in `layout` (None: as now)."""
    if layout not in (None, FLAT) and not all(layout_free(n, layout, tracking) for n in chain):
        return float("inf")
    saved = {n: plan.nodes.get(n, FLAT) for n in chain}
    if layout is not None:
        for member in chain:
            plan.place(member, layout)
    values = {v for n in chain for v in (*n.inputs, n.outputs[0])
              if v is not None and (v in tracking.tracks or v in plan.layouts)}
    total = sum(value_cost(v, plan) for v in values)
    for member, before in saved.items():
        plan.place(member, before)
    return total


def value_cost(value: ir.Value, plan: Plan) -> int:
    """Nodes converting `value` into the layouts its readers compute in."""
    wanted = {plan.nodes.get(user, FLAT) for user in value.consumers()}
    if value.is_graph_output():
        wanted.add(FLAT)
    return sum(conversion_cost(plan.of(value), layout) for layout in wanted)


def conv_layout(node: ir.Node, tracking: Tracking, rows: bool = True) -> int | None:
    """The layout a Conv with a kernel wider than 1 convolves in, else None.

    Rows (or phases) of its dilation where `rows` allows and the conv qualifies, else PLANE.
    """
    if not is_op(node, "Conv") or not carries_sequence(node.inputs[0], tracking):
        return None
    kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
    if kernel is None or kernel.ndim != 3 or kernel.shape[2] == 1:
        return None
    dilation = node.attributes.get_ints("dilations", [1])[0]
    if list(node.attributes.get_ints("strides", [1])) != [1]:
        return None
    left, right = conv_pads(node, (kernel.shape[2] - 1) * dilation)
    if not rows or dilation < MIN_DILATION or kernel.size < MIN_MACS or (
            left % dilation or right % dilation):
        return PLANE
    return -dilation if dilation < PHASES_BELOW else dilation


def carries_sequence(value: ir.Value | None, tracking: Tracking) -> bool:
    """Whether a value is an (N, C, L) tensor whose L is the input's length."""
    found = tracking.tracks.get(value) if value is not None else None
    return found is not None and found.axis == 2 and value is not None and (
        value.shape is not None and len(value.shape) == 3)


def layout_free(node: ir.Node, layout: int, tracking: Tracking) -> bool:
    """Whether a node computes the same in `layout` as on the flat sequence."""
    if not carries_sequence(node.outputs[0], tracking):
        return False
    operands: list[ir.Value | None] = [v for v in node.inputs[1:] if v is not None]
    if is_op(node, "Conv"):
        kernel = constant(node.inputs[1]) if len(node.inputs) > 1 else None
        return kernel is not None and kernel.shape[2:] == (1,) and conv_pads(node, 0) == (0, 0) \
            and list(node.attributes.get_ints("strides", [1])) == [1]
    if is_op(node, "Slice"):
        return whole_rows(node, abs(layout)) is not None
    if is_op(node, "Softmax", "LogSoftmax", "Concat"):
        return node.attributes.get_int("axis", -1 if node.op_type != "Concat" else 0) % 3 == 1
    if is_op(node, *BINARY):
        operands = list(node.inputs)
    elif not is_op(node, *UNARY) or is_op(node, "Cast"):
        return False
    return all(v is not None and (v in tracking.tracks or constant(v) is not None)
               for v in operands)


def whole_rows(node: ir.Node, width: int) -> tuple[list[int], list[int], list[int]] | None:
    """A Slice's starts, ends and axes counted in rows of `width`, if it crops whole rows."""
    bounds = slice_bounds(node)
    if bounds is None or any(s != 1 for s in bounds[3]):
        return None
    axes, starts, ends, _ = bounds
    new_ends = []
    for axis, start, end in zip(axes, starts, ends, strict=True):
        if axis % 3 != 2:
            new_ends.append(end)
        elif start % width or (end < tail_padding.TO_THE_END and end % width):
            return None
        else:
            new_ends.append(end if end >= tail_padding.TO_THE_END else end // width)
    new_starts = [s // width if a % 3 == 2 else s for a, s in zip(axes, starts, strict=True)]
    return new_starts, new_ends, [a % 3 for a in axes]


def common_residue(plan: Plan, tracking: Tracking) -> tuple[int, int] | None:
    """(c, M): padded input lengths = c mod M split every value into whole rows of its layout.

    A value in rows (or phases) of d is `shrink` shorter than the input, so the padded input
    length must be = shrink (mod d), for every such value, and for every value converted to
    a node's layout; None when no length satisfies them all.
    """
    wanted: dict[int, int] = {}
    for node, layout in plan.nodes.items():
        width = abs(layout)
        for value in (*node.inputs, *node.outputs):
            found = tracking.tracks.get(value) if value is not None else None
            if found is None:
                continue
            if wanted.setdefault(width, found.shrink % width) != found.shrink % width:
                return None
    modulus = math.lcm(*wanted) if wanted else 1
    residue = next((c for c in range(modulus)
                    if all(c % d == r for d, r in wanted.items())), None)
    return None if residue is None else (residue, modulus)
