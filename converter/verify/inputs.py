"""Parity inputs: the user's arrays, or seeded synthetic ones derived from the input spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converter.artifacts import InputSpec, ModelGraph
from converter.errors import UsageError
from converter.graph.interface import input_specs, shortest_length
from converter.options import ConvertOptions

Case = dict[str, np.ndarray]


def parity_cases(graph: ModelGraph, options: ConvertOptions) -> list[Case]:
    """The user's --inputs, or synthetic cases at lengths past the graph's shortest one."""
    specs = input_specs(graph)
    if options.inputs:
        return load_cases(options.inputs, specs)
    lengths = tuple(shortest_length(graph) + n for n in options.lengths)
    return synthetic_cases(specs, options.seed, options.batch_size, lengths)


def calibration_cases(graph: ModelGraph, options: ConvertOptions) -> list[Case]:
    """What full int8 calibrates on: --calibration, else the parity inputs."""
    if options.calibration:
        return load_cases(options.calibration, input_specs(graph), "--calibration")
    return parity_cases(graph, options)


def synthetic_cases(
    specs: tuple[InputSpec, ...], seed: int, batch: int, lengths: tuple[int, ...]
) -> list[Case]:
    """One case per sequence length when any axis is dynamic, else one case.

    Floats are uniform in [-2, 2], wide enough to reach the saturating parts of tanh and
    sigmoid and both sides of ReLU; Embedding inputs get valid token ids.
    """
    dynamic = any(d is None for s in specs for d in s.shape[1:])
    cases = []
    for case_index, length in enumerate(lengths if dynamic else lengths[:1]):
        rng = np.random.default_rng([seed, case_index])
        case: Case = {}
        for spec in specs:
            shape = (spec.shape[0] or batch, *(length if d is None else d for d in spec.shape[1:]))
            if spec.int_range is not None:
                low, high = spec.int_range
                case[spec.name] = rng.integers(low, high, shape).astype(spec.dtype)
            elif spec.dtype.startswith(("int", "uint")):
                case[spec.name] = rng.integers(0, 10, shape).astype(spec.dtype)
            else:
                case[spec.name] = rng.uniform(-2.0, 2.0, shape).astype(spec.dtype)
        cases.append(case)
    return cases


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
