"""Verify stage: every runtime on every artifact it accepts, against the reference outputs."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converter.artifacts import Artifact, ModelGraph, ParityCheck
from converter.interface import input_specs, output_names
from converter.options import ConvertOptions
from converter.verify.compare import compare_output
from converter.verify.inputs import Case, load_cases, synthetic_cases
from converter.verify.runner import WorkerJob, WorkerOutcome, run_worker
from converter.verify.runtimes import REFERENCE, availability, create
from converter.verify.tolerances import tolerance_for

__all__ = ["ParityRun", "verify"]


@dataclass(frozen=True)
class ParityRun:
    """The parity stage's record: the reference's own outcome, the checks, the inputs."""

    reference: WorkerOutcome
    checks: tuple[ParityCheck, ...]
    cases: tuple[dict[str, list[int]], ...]


def verify(
    graph: ModelGraph,
    loader: str,
    source: Path,
    artifacts: list[Artifact],
    stage: Path,
    options: ConvertOptions,
) -> ParityRun:
    """Run the reference, then each (runtime, artifact) pair in its own process.

    `graph` is the normalised graph (its interface is the artifacts'); `loader` names the
    library that loads the `source` file for the reference runtime.
    """
    specs = input_specs(graph)
    cases = (load_cases(options.inputs, specs) if options.inputs
             else synthetic_cases(specs, options.seed, options.batch_size, options.lengths))
    shapes = tuple({k: list(v.shape) for k, v in case.items()} for case in cases)
    with tempfile.TemporaryDirectory(prefix="converter-verify-") as tmp:
        workdir = Path(tmp)
        inputs = write_cases(cases, workdir / "inputs.npz")
        names = tuple(s.name for s in specs)

        def job(runtime: str, target: Path) -> WorkerJob:
            return WorkerJob(runtime, str(target), loader, inputs,
                             len(cases), names)

        reference = run_worker(job(REFERENCE, source), workdir, options.timeout_s)
        pairs = [(r, a) for r in options.runtimes if r != REFERENCE
                 for a in artifacts if create(r).accepts == a.format]
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(
                lambda pair: outcome_of(job(pair[0], stage / pair[1].path), workdir, options),
                pairs,
            ))
    graph_outputs = output_names(graph)
    checks = tuple(
        judge(runtime, artifact, outcome, reference, graph_outputs)
        for (runtime, artifact), outcome in zip(pairs, outcomes, strict=True)
    )
    return ParityRun(reference, checks, shapes)


def outcome_of(job: WorkerJob, workdir: Path, options: ConvertOptions) -> WorkerOutcome:
    """A runtime's outcome, skipping without a process when its library is missing."""
    missing = availability(job.runtime)
    if missing:
        return WorkerOutcome("skipped", missing)
    return run_worker(job, workdir, options.timeout_s)


def write_cases(cases: list[Case], path: Path) -> Path:
    """All cases in one .npz, keyed "<case>/<input name>"."""
    np.savez(path, **{f"{i}/{k}": v for i, case in enumerate(cases) for k, v in case.items()})
    return path


def judge(
    runtime: str,
    artifact: Artifact,
    outcome: WorkerOutcome,
    reference: WorkerOutcome,
    graph_outputs: tuple[str, ...],
) -> ParityCheck:
    """Turn a runtime's outcome into a check: compare when both sides produced outputs.

    The reference's outputs are in the graph's order, the artifact's in its own
    (`artifact.output_names`); outputs are matched by name.
    """
    tolerance = tolerance_for(runtime, artifact.precision)
    if outcome.status != "ok":
        return ParityCheck(runtime, artifact.path, outcome.status, reason=outcome.reason,
                           tolerance=tolerance, seconds=outcome.seconds)
    if reference.status != "ok":
        return ParityCheck(runtime, artifact.path, "skipped",
                           reason=f"the reference ({REFERENCE}) did not run: {reference.reason}",
                           tolerance=tolerance, seconds=outcome.seconds)
    if len(outcome.outputs[0]) != len(reference.outputs[0]):
        return ParityCheck(
            runtime, artifact.path, "failed", tolerance=tolerance, seconds=outcome.seconds,
            reason=f"{len(outcome.outputs[0])} outputs, the reference has "
                   f"{len(reference.outputs[0])}",
        )
    comparisons = tuple(
        compare_output(
            name,
            [case[i] for case in outcome.outputs],
            [case[graph_outputs.index(name)] for case in reference.outputs],
            tolerance,
        )
        for i, name in enumerate(artifact.output_names)
    )
    passed = all(c.passed for c in comparisons)
    worst = [c for c in comparisons if not c.passed]
    reason = "" if passed else "; ".join(
        c.note or f"{c.name}: max abs {c.max_abs:.3g} exceeds atol {tolerance.atol:g} + "
        f"rtol {tolerance.rtol:g}" for c in worst
    )
    return ParityCheck(
        runtime, artifact.path, "passed" if passed else "failed",
        max(c.max_abs for c in comparisons), max(c.max_rel for c in comparisons),
        reason, tolerance, comparisons, outcome.seconds,
    )
