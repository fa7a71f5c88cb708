"""Parity inputs: the user's arrays, or seeded synthetic ones derived from the input spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import InputSpec, ModelGraph
from converter.errors import UsageError
from converter.graph.interface import input_specs, shortest_length
from converter.options import ConvertOptions
from converter.parity.search import DEFAULT, Distribution, choose, feed_row, search_rng

Case = dict[str, np.ndarray]


@dataclass(frozen=True)
class Drawn:
    """The parity cases and, for the report, how they were drawn."""

    cases: list[Case]
    record: dict[str, Any] = field(default_factory=dict)


def parity_cases(graph: ModelGraph, options: ConvertOptions) -> Drawn:
    """The user's --inputs as given, or synthetic cases that exercise the model.

    Synthetic cases are drawn at lengths past the graph's shortest one, each row from the
    distribution `search.choose` picked on the NumPy reference.
    """
    specs = input_specs(graph)
    if options.inputs:
        return Drawn(load_cases(options.inputs, specs),
                     {"source": f"--inputs {options.inputs}", "note": "used as given"})
    lengths = tuple(shortest_length(graph) + n for n in options.lengths)
    choice = choose(graph, specs, options.seed, options.batch_size, lengths[0])
    cases = synthetic_cases(specs, options.seed, options.batch_size, lengths, choice.rows,
                            choice.searched)
    return Drawn(cases, {"source": "synthetic", **choice.record()})


def calibration_cases(graph: ModelGraph, options: ConvertOptions) -> list[Case]:
    """What full int8 calibrates on: --calibration, else the parity inputs."""
    if options.calibration:
        return load_cases(options.calibration, input_specs(graph), "--calibration")
    return parity_cases(graph, options).cases


def synthetic_cases(
    specs: tuple[InputSpec, ...], seed: int, batch: int, lengths: tuple[int, ...],
    rows: tuple[Distribution, ...] = (), searched: tuple[tuple[int, int] | None, ...] = (),
) -> list[Case]:
    """One case per sequence length when any axis is dynamic, else one case.

    Each row's floats come from its distribution in `rows` (by default uniform in [-2, 2],
    wide enough to reach the saturating parts of tanh and sigmoid and both sides of ReLU);
    Embedding inputs get valid token ids. In the first case, at the length the search ran,
    a row with a `searched` entry is that search row again.
    """
    dynamic = any(d is None for s in specs for d in s.shape[1:])
    cases = []
    for case_index, length in enumerate(lengths if dynamic else lengths[:1]):
        rng = np.random.default_rng([seed, case_index])
        case: Case = {}
        for spec in specs:
            shape = (spec.shape[0] or batch, *(length if d is None else d for d in spec.shape[1:]))
            if all(row == DEFAULT for row in rows):  # one draw for the whole case
                case[spec.name] = feed_row(spec, DEFAULT, rng, shape)
            else:
                again = searched if case_index == 0 else ()
                case[spec.name] = np.stack([feed_row(
                    spec, rows[r % len(rows)], row_rng(seed, again, r, rng), shape[1:])
                    for r in range(shape[0])])
        cases.append(case)
    return cases


def row_rng(seed: int, searched: tuple[tuple[int, int] | None, ...], row: int,
            rng: np.random.Generator) -> np.random.Generator:
    """The search row's own generator where `row` repeats one, else the case's."""
    key = searched[row] if row < len(searched) else None
    return rng if key is None else search_rng(seed, key)


def load_cases(path: Path, specs: tuple[InputSpec, ...], flag: str = "--inputs") -> list[Case]:
    """Arrays from an .npz keyed by input name, or `x` / `x0..xN` by position."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{flag} {path}: not a readable .npz file ({exc})") from exc
    case: Case = {}
    for position, spec in enumerate(specs):
        keys = [spec.name, f"x{position}"] + (["x"] if len(specs) == 1 else [])
        key = next((k for k in keys if k in arrays), None)
        if key is None:
            raise UsageError(
                f"{flag} {path}: no array for input {spec.name!r} (tried {keys}); "
                f"the file holds {sorted(arrays)}"
            )
        value = arrays[key]
        if value.ndim != len(spec.shape) or any(
            d is not None and d != v for d, v in zip(spec.shape[1:], value.shape[1:], strict=True)
        ):
            raise UsageError(
                f"{flag} {path}: {key} has shape {list(value.shape)}, input {spec.name} "
                f"expects {[d if d is not None else 'any' for d in spec.shape]}"
            )
        case[spec.name] = value.astype(spec.dtype)
    return [case]
