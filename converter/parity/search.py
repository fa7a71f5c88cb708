"""Synthetic inputs that exercise the model: a distribution per row, chosen on the reference.

Uniform noise in [-2, 2] drives many classifiers (ECG models trained on signals in [0, 1])
to a saturated softmax, where every converted file matches whatever it computes, and
saturates hidden sigmoids and gates so that a wrong layer barely moves the outputs. Before
the parity inputs are drawn, candidate distributions (narrower, shifted, or the statistics
of a BatchNormalization right after the input) run a few rows each through the NumPy
reference of the graph and of copies of it with the planted defects (`graph_defects`). The
rows get the distribution whose outputs (or their logits) carry information and show the
most defects beyond the fp32 tolerance, the default first among equals; rows of equally
good ones add predicted classes. The report records what was drawn and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from converter.artifacts import InputSpec, ModelGraph, TensorRef
from converter.graph.interface import output_names
from converter.graph.logits import logit_outputs, with_logits
from converter.graph.shapes import static_shapes
from converter.normalize.static_shape import StaticShape
from converter.parity.graph_defects import planted_graphs
from converter.parity.information import assess

ROWS_EACH = 2
# The NumPy search's budget in multiply-adds (weights x length, every candidate row, the
# graph and each planted copy): seconds of float64 einsum here; a larger model keeps the
# default distribution.
BUDGET = 3e9


@dataclass(frozen=True)
class Distribution:
    """Uniform in [center - width, center + width], or normal per channel when `std` is set."""

    center: float = 0.0
    width: float = 2.0
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """One array of `shape` (channels last)."""
        if self.std:
            return rng.normal(np.array(self.mean), np.array(self.std), shape)
        return rng.uniform(self.center - self.width, self.center + self.width, shape)

    def describe(self) -> str:
        """In words, for the report."""
        if self.std:
            return "normal with the per-channel mean and std of the input's BatchNormalization"
        return f"uniform in [{self.center - self.width:g}, {self.center + self.width:g}]"


DEFAULT = Distribution()
# Narrower and shifted (signals in [0, 1], standardised features) and wider (raw samples).
CANDIDATES = (DEFAULT, *(Distribution(c, w) for w in (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
                         for c in (0.0, 0.5)), *(Distribution(0.0, w) for w in (5.0, 20.0)))


@dataclass(frozen=True)
class Choice:
    """The distribution of each parity row, and how it was chosen.

    `searched[r]`: the search row (candidate, k) parity row r repeats in the first case, so
    the classes the note counts are the ones the parity rows predict; None: a fresh draw.
    """

    rows: tuple[Distribution, ...]
    note: str
    searched: tuple[tuple[int, int] | None, ...] = ()

    def record(self) -> dict[str, Any]:
        """How the rows were drawn, for the report's `inputs`."""
        return {"rows": [d.describe() for d in self.rows] or ["integers in each input's range"],
                "note": self.note}


def input_statistics(graph: ModelGraph) -> Distribution | None:
    """Normal with a BatchNormalization's moving statistics, where one reads the only input."""
    if len(graph.inputs) != 1:
        return None
    readers = [graph.layer(n) for n in graph.consumers(graph.inputs[0].layer)]
    if len(readers) != 1 or readers[0].class_name != "BatchNormalization":
        return None
    norm = readers[0]
    mean, variance = norm.weights[-2], norm.weights[-1]
    return Distribution(mean=tuple(float(m) for m in mean),
                        std=tuple(float(np.sqrt(max(v, 0.0))) for v in variance))


def choose(graph: ModelGraph, specs: tuple[InputSpec, ...], seed: int, batch: int,
           length: int) -> Choice:
    """A distribution for each of `batch` rows (see the module docstring)."""
    if not any(s.int_range is None and not s.dtype.startswith(("int", "uint")) for s in specs):
        return Choice((), "integer inputs (token ids): drawn in their range")
    stats = input_statistics(graph)
    candidates = (DEFAULT, *((stats,) if stats else ()), *CANDIDATES[1:])
    planted = planted_graphs(graph)
    cost = multiply_adds(graph, length) * ROWS_EACH * len(candidates) * (1 + len(planted))
    if cost > BUDGET:
        return Choice((DEFAULT,) * batch, f"not searched: {cost:.1e} multiply-adds for the "
                                          "NumPy search exceeds its budget")
    try:
        scores = scored(graph, planted, specs, candidates, seed, length)
    except Exception as exc:  # the reference cannot run this graph: keep the default
        return Choice((DEFAULT,) * batch, f"not searched: the NumPy reference cannot run "
                                          f"the graph ({type(exc).__name__}: {exc})"[:300])
    return picked(scores, candidates, batch, len(planted))


def multiply_adds(graph: ModelGraph, length: int) -> float:
    """About how many multiply-adds one row of `length` costs the reference.

    Each weight once per position of its layer's input or output (the longer).
    """
    shapes = static_shapes(StaticShape(1, length)(graph).graph)

    def positions(shape: tuple[int | None, ...] | None) -> int:
        if shape is None or any(d is None for d in shape[:-1]):
            return length
        return math.prod(d for d in shape[:-1] if d is not None)

    return float(sum(
        w.size * max(positions(shapes.get(TensorRef(x.name))),
                     positions(shapes.get(x.calls[0].inputs[0]) if x.calls else None))
        for x in graph.layers for w in x.weights))


@dataclass(frozen=True)
class Score:
    """How one candidate distribution's rows fared on the reference."""

    informative: bool
    exposed: int  # planted graph defects its rows show beyond the fp32 tolerance
    labels: tuple[int | None, ...]  # each row's predicted class, for classifiers


def scored(graph: ModelGraph, planted: list[ModelGraph], specs: tuple[InputSpec, ...],
           candidates: tuple[Distribution, ...], seed: int, length: int) -> list[Score]:
    """Each candidate's rows through the graph and each planted copy of it (with logits)."""
    from converter.reference import run_graph

    feeds = []
    for spec in specs:
        shape = tuple(length if d is None else d for d in spec.shape[1:])
        rows = [feed_row(spec, candidate, search_rng(seed, (i, k)), shape)
                for i, candidate in enumerate(candidates) for k in range(ROWS_EACH)]
        feeds.append(np.stack(rows))
    base = run_graph(with_logits(graph), feeds)
    copies = [run_graph(with_logits(g), feeds) for g in planted]
    squashed = logit_outputs(graph)
    names = output_names(graph)
    kinds = {x.output: x.kind for x in squashed}
    logits = {x.output: len(names) + i for i, x in enumerate(squashed)}
    found = []
    for index in range(len(candidates)):
        start = index * ROWS_EACH
        part = slice(start, start + ROWS_EACH)
        informative = all(
            assess([base[j][part]], kinds.get(name)).informative or (
                name in logits and assess([base[logits[name]][part]]).informative)
            for j, name in enumerate(names))
        exposed = sum(any(not close(copy[j][part], base[j][part]) for j in range(len(base)))
                      for copy in copies)
        first = next((base[j] for j, name in enumerate(names)
                      if name in kinds and base[j].ndim == 2), None)
        labels = tuple(int(first[r].argmax()) if first is not None else None
                       for r in range(start, start + ROWS_EACH))
        found.append(Score(informative, exposed, labels))
    return found


def search_rng(seed: int, row: tuple[int, int]) -> np.random.Generator:
    """The generator of search row k of candidate i: the parity rows that repeat it use it."""
    return np.random.default_rng([seed, 7919, *row])


def close(actual: np.ndarray, expected: np.ndarray) -> bool:
    """Within the fp32 tolerance every file is checked at (atol 1e-5 + rtol 1e-5)."""
    return bool(np.all(np.abs(actual - expected) <= 1e-5 + 1e-5 * np.abs(expected)))


def feed_row(spec: InputSpec, distribution: Distribution, rng: np.random.Generator,
             shape: tuple[int, ...]) -> np.ndarray:
    """One input row: token ids in range, integers, or the distribution's floats."""
    if spec.int_range is not None:
        return rng.integers(*spec.int_range, shape).astype(spec.dtype)
    if spec.dtype.startswith(("int", "uint")):
        return rng.integers(0, 10, shape).astype(spec.dtype)
    return distribution.draw(rng, shape).astype(spec.dtype)


def picked(scores: list[Score], candidates: tuple[Distribution, ...], batch: int,
           planted: int) -> Choice:
    """The best distribution for every row, rows of equally good ones adding classes.

    Best: informative outputs, then the most planted defects exposed, then the earliest
    (the default first, so it stays wherever it is as good).
    """
    best = max(range(len(scores)), key=lambda i: (scores[i].informative, scores[i].exposed, -i))
    rows = [best] * batch
    searched: list[tuple[int, int] | None] = [
        (best, k) if k < ROWS_EACH else None for k in range(batch)]
    seen = set(scores[best].labels[:batch])
    equal = [i for i in range(len(scores))
             if (scores[i].informative, scores[i].exposed) == (
                 scores[best].informative, scores[best].exposed)]
    slot = batch - 1
    for index in equal:  # classes the best one's rows do not predict, one row each
        for k, label in enumerate(scores[index].labels):
            if label is not None and label not in seen and slot > 0:
                rows[slot], searched[slot], slot = index, (index, k), slot - 1
                seen.add(label)
    chosen = scores[best]
    what = "keeps every output informative" if chosen.informative else \
        "is the least uninformative"
    note = (f"searched {len(candidates)} distributions on the NumPy reference: "
            f"{candidates[best].describe()} {what} and shows {chosen.exposed} of {planted} "
            f"planted defects; {len(seen - {None})} predicted class(es)")
    return Choice(tuple(candidates[i] for i in rows), note, tuple(searched))
