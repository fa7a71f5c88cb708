"""The rows a plain reference evaluator reads where the parity cases are large.

The plain evaluators (`Runtime.slow`: the NumPy interpreter of the graph, LiteRT's
reference kernels, onnx's reference evaluator) check a file's semantics with simple kernels
at about 1-3 billion multiply-adds a second here: a minute each on SpliceAI's parity cases
(8 rows of ~10,000 steps, 5.6e10 multiply-adds), more than the rest of its conversion.
Where the cases cost more than READ_WHOLE, each of them reads one row of each case, row
`c mod batch` of case c: every length is still evaluated, by a different row in each case,
and compared with the same rows of the reference. The optimised runtimes read every row of
the same files, so the batch is still checked; the check's facts say what was read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from converter.artifacts import ModelGraph
from converter.graph.interface import input_specs
from converter.parity.evidence import Probe
from converter.parity.inputs import Case
from converter.parity.judge import Expected, Series
from converter.parity.search import multiply_adds

# Multiply-adds over every row of every case that a plain evaluator reads whole (~5-10 s).
READ_WHOLE = 1e10


@dataclass(frozen=True)
class Sampled:
    """The row each case keeps for the plain evaluators, and the reason, for the report."""

    rows: tuple[int, ...]
    read: str  # what is read, in words
    why: str

    @property
    def note(self) -> str:
        """What a plain evaluator's check read, and why (its `facts.rows`)."""
        return f"{self.read}: {self.why}; the optimised runtimes read every row"

    @property
    def copies_note(self) -> str:
        """What a check's planted copies read, and why (its `power.rows`)."""
        return f"the planted copies read {self.read}: {self.why}"

    def cases(self, cases: list[Case]) -> list[Case]:
        """Each case cut to its row (a batch of one)."""
        return [{name: array[row:row + 1] for name, array in case.items()}
                for case, row in zip(cases, self.rows, strict=True)]

    def series(self, series: Series) -> Series:
        """One output's arrays (one per case), each cut to its case's row."""
        return [array[row:row + 1] for array, row in zip(series, self.rows, strict=True)]

    def expected(self, expected: Expected) -> Expected:
        """The reference's outputs and logits on the same rows (what they carry unchanged)."""
        return replace(expected,
                       outputs={k: self.series(v) for k, v in expected.outputs.items()},
                       logits={k: self.series(v) for k, v in expected.logits.items()})


def sampled(graph: ModelGraph, cases: list[Case]) -> Sampled | None:
    """The rows the plain evaluators read, or None where they read every row.

    None where the cases cost at most READ_WHOLE, where a case has one row, where the files
    take a fixed batch (--static-shape: one row is not an input they accept), or where the
    cost cannot be estimated (the estimate then stays out of the way).
    """
    batches = [next(iter(case.values())).shape[0] if case else 0 for case in cases]
    if not cases or min(batches) < 2 or fixed_batch(graph) or any(
            array.shape[:1] != (batch,) for case, batch in zip(cases, batches, strict=True)
            for array in case.values()):
        return None
    try:
        cost = sum(multiply_adds(graph, length(case)) * batch
                   for case, batch in zip(cases, batches, strict=True))
    except Exception:  # noqa: BLE001 - an estimate only: without it every row is read
        return None
    if cost <= READ_WHOLE:
        return None
    return Sampled(tuple(c % batch for c, batch in enumerate(batches)),
                   f"1 of {max(batches)} rows of each case (a different row in each)",
                   f"the cases cost {cost:.1e} multiply-adds, over the {READ_WHOLE:.0e} a "
                   "plain evaluator reads whole")


def fixed_batch(graph: ModelGraph) -> bool:
    """Whether an input of the graph (and so of its files) has a static batch size."""
    try:
        return any(spec.shape[0] is not None for spec in input_specs(graph))
    except KeyError:  # not a graph whose inputs can be read: the cost is not estimated either
        return False


def length(case: Case) -> int:
    """The case's sequence length: the steps of its first sequence input (1 where none)."""
    steps = [array.shape[1] for array in case.values() if np.ndim(array) >= 3]
    return int(steps[0]) if steps else 1


def copies_sampled(rows: Sampled | None, precision: str) -> bool:
    """Whether a file's planted copies run on the sampled rows (where the cases are large).

    Only at absolute tolerances (fp32 files): there a defect caught on some rows is caught on
    all of them, so the power measured is never more than the whole check's. A quantised
    file's tolerance scales with the output range of the rows read: its copies read every row.
    """
    return rows is not None and precision == "fp32"


def cut(expected: Expected, probe: Probe, rows: Sampled | None, copies: Sampled | None,
        probed: bool) -> tuple[Expected, Expected, Probe]:
    """The reference for a check and for its copies, and the probe's logits, on their rows.

    `rows`: the rows the check read (None: every row); `copies`: those its copies ran on;
    `probed`: whether the probe read the copies' logits on those rows already (its own
    logits, key 0, always cover every row).
    """
    def on_rows(index: int, found: dict[str, Series]) -> dict[str, Series]:
        keep = rows if index == 0 else None if probed else copies
        return {name: keep.series(series) for name, series in found.items()} if keep else found

    return (rows.expected(expected) if rows else expected,
            copies.expected(expected) if copies else expected,
            replace(probe, logits={index: on_rows(index, found)
                                   for index, found in probe.logits.items()}))
