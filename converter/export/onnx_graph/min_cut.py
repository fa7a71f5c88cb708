"""A minimum s-t cut over a small graph (Edmonds-Karp max-flow), and the binary terms built on it.

A `Cut` minimises a sum of terms over binary variables x_i (0: source side, 1: sink side):
unary costs, "x_a = 0 and x_b = 1" costs, and "any of these is 0 (or 1)" costs, each
exactly (the hyper-terms get an auxiliary variable, as in the standard construction for
submodular functions of binary variables). The layout assignment pass puts one variable per
op that could run in either of two layouts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable

INFINITE = float("inf")
SOURCE, SINK = 0, 1


class Cut:
    """Variables, the terms over them, and their minimising assignment."""

    def __init__(self) -> None:
        self.index: dict[Hashable, int] = {}
        self.heads: list[list[int]] = [[], []]  # per node: its edges' ids
        self.target: list[int] = []
        self.capacity: list[float] = []

    def node(self, key: Hashable | None = None) -> int:
        """The graph node of variable `key` (a new auxiliary node when None)."""
        if key is not None and key in self.index:
            return self.index[key]
        self.heads.append([])
        number = len(self.heads) - 1
        if key is not None:
            self.index[key] = number
        return number

    def edge(self, start: int, end: int, capacity: float) -> None:
        """An edge cut (paying `capacity`) when `start` is on the source side, `end` on the sink."""
        for a, b, c in ((start, end, capacity), (end, start, 0.0)):
            self.heads[a].append(len(self.target))
            self.target.append(b)
            self.capacity.append(c)

    def unary(self, key: Hashable, cost_if_0: float, cost_if_1: float) -> None:
        """Pay `cost_if_0` when x_key = 0, `cost_if_1` when it is 1."""
        variable = self.node(key)
        if cost_if_1:
            self.edge(SOURCE, variable, cost_if_1)
        if cost_if_0:
            self.edge(variable, SINK, cost_if_0)

    def zero_then_one(self, zero: int, one: int, cost: float) -> None:
        """Pay `cost` when node `zero` is 0 and node `one` is 1."""
        self.edge(zero, one, cost)

    def any_is(self, bit: int, keys: Iterable[Hashable]) -> int:
        """An auxiliary node forced to `bit` when any variable of `keys` is `bit`.

        Free otherwise: a term that pays only when the auxiliary is `bit` pays exactly when
        one of the variables is.
        """
        auxiliary = self.node()
        for key in keys:
            if bit:
                self.edge(auxiliary, self.node(key), INFINITE)
            else:
                self.edge(self.node(key), auxiliary, INFINITE)
        return auxiliary

    def solve(self) -> dict[Hashable, int]:
        """The assignment of every variable that minimises the terms' sum."""
        while self.augment():
            pass
        reached = self.reachable()
        return {key: 0 if number in reached else 1 for key, number in self.index.items()}

    def search(self, whole: bool = False) -> list[int]:
        """Breadth-first search from the source over edges with capacity left.

        Up to the sink, or the whole graph when `whole`. Returns for each node the edge it
        was reached by (-1: the source, -2: not reached).
        """
        via = [-2] * len(self.heads)
        via[SOURCE] = -1
        queue = deque([SOURCE])
        while queue and (whole or via[SINK] == -2):
            here = queue.popleft()
            for edge in self.heads[here]:
                there = self.target[edge]
                if self.capacity[edge] > 1e-12 and via[there] == -2:
                    via[there] = edge
                    queue.append(there)
        return via

    def augment(self) -> bool:
        """Push flow along one shortest path with capacity left; False when there is none."""
        via = self.search()
        if via[SINK] == -2:
            return False
        path, here = [], SINK
        while via[here] >= 0:
            path.append(via[here])
            here = self.target[via[here] ^ 1]
        amount = min(self.capacity[edge] for edge in path)
        if amount == INFINITE:
            raise ValueError("a cut of infinite cost: the terms contradict each other")
        for edge in path:
            self.capacity[edge] -= amount
            self.capacity[edge ^ 1] += amount
        return True

    def reachable(self) -> set[int]:
        """Nodes the source still reaches once the flow is maximal: the source side."""
        return {number for number, edge in enumerate(self.search(whole=True)) if edge != -2}
