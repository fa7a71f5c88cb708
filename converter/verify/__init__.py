"""Verify stage: every runtime on every artifact it accepts, against the reference outputs."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from converter.artifacts import Artifact, ModelGraph, ParityCheck
from converter.graph_io import save_graph
from converter.interface import input_specs, output_names
from converter.options import ConvertOptions
from converter.report.progress import Silent, StageListener
from converter.verify.compare import compare_output
from converter.verify.inputs import Case, parity_cases
from converter.verify.localize import describe, localize
from converter.verify.runner import WorkerJob, WorkerOutcome, run_worker
from converter.verify.runtimes import REFERENCE, availability, create
from converter.verify.tolerances import tolerance_for

__all__ = ["GRAPH_ARTIFACT", "ParityRun", "verify"]

GRAPH_ARTIFACT = "normalized-graph"


@dataclass(frozen=True)
class ParityRun:
    """The parity stage's record: the reference's own outcome, the checks, the inputs."""

    reference: WorkerOutcome
    checks: tuple[ParityCheck, ...]
    cases: tuple[dict[str, list[int]], ...]
    reference_runtime: str = REFERENCE


def verify(
    graph: ModelGraph,
    loader: str,
    source: Path,
    artifacts: list[Artifact],
    stage: Path,
    options: ConvertOptions,
    listener: StageListener | None = None,
) -> ParityRun:
    """Run the reference, then each (runtime, artifact) pair in its own process.

    `graph` is the normalised graph (its interface is the artifacts'); `loader` names the
    library that loads the `source` file for the reference runtime.
    """
    specs = input_specs(graph)
    cases = parity_cases(graph, options)
    shapes = tuple({k: list(v.shape) for k, v in case.items()} for case in cases)
    graph_outputs = output_names(graph)
    with tempfile.TemporaryDirectory(prefix="converter-verify-") as tmp:
        workdir = Path(tmp)
        inputs = write_cases(cases, workdir / "inputs.npz")
        names = tuple(s.name for s in specs)
        graph_file = save_graph(graph, workdir / "graph.json")
        # The normalised graph is a pseudo-artifact for runtimes that interpret it (numpy).
        graph_artifact = Artifact(GRAPH_ARTIFACT, "graph", "graph", 0, "", {}, names,
                                  graph_outputs)
        targets = {a.path: stage / a.path for a in artifacts} | {GRAPH_ARTIFACT: graph_file}

        def job(runtime: str, target: Path, feed_names: tuple[str, ...] = names,
                feeds: Path = inputs) -> WorkerJob:
            return WorkerJob(runtime, str(target), loader, feeds, len(cases), names,
                             options.custom_objects, options.allow_lambda, feed_names)

        reference_name = "numpy" if loader == "numpy" else REFERENCE
        if reference_name == "numpy":
            reference = run_worker(job("numpy", graph_file), workdir, options.timeout_s)
        else:  # the original model, fed and read in its own layout
            source_inputs = inputs if not any(graph.input_permutations) else write_cases(
                in_source_layout(cases, graph), workdir / "source_inputs.npz")
            reference = in_graph_layout(run_worker(
                job(REFERENCE, source, feeds=source_inputs), workdir, options.timeout_s), graph)
        if reference.status != "ok" and reference_name != "numpy":
            # The original cannot run (e.g. a deferred-build file Keras cannot load): the
            # independent NumPy interpreter of the graph becomes the reference, and says why.
            fallback = run_worker(job("numpy", graph_file), workdir, options.timeout_s)
            if fallback.status == "ok":
                reason = f"{reference_name} could not run the original ({reference.reason}); " \
                         "the NumPy reference was used instead"
                reference = replace(fallback, reason=reason)
                reference_name = "numpy"
        pairs = [(r, a) for r in options.selected_runtimes()
                 if r not in (REFERENCE, reference_name)
                 for a in (*artifacts, graph_artifact) if create(r).accepts == a.format]
        told = listener or Silent()

        def checked(pair: tuple[str, Artifact]) -> WorkerOutcome:
            runtime, artifact = pair
            told.begin(f"{runtime} on {artifact.path}")
            outcome = outcome_of(job(runtime, targets[artifact.path], artifact.input_names),
                                 workdir, options)
            told.end(f"{runtime} on {artifact.path}",
                     "ran" if outcome.status == "ok" else outcome.status)
            return outcome

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(checked, pairs))
    checks = tuple(
        localized(judge(runtime, artifact, outcome, reference, graph_outputs, reference_name),
                  artifact, graph, targets, cases[0])
        for (runtime, artifact), outcome in zip(pairs, outcomes, strict=True)
    )
    return ParityRun(reference, checks, shapes, reference_name)


def localized(check: ParityCheck, artifact: Artifact, graph: ModelGraph,
              targets: dict[str, Path], case: Case) -> ParityCheck:
    """A failed check on a .tflite/.onnx file, with the first diverging layer named."""
    if check.status != "failed" or artifact.format not in ("tflite", "onnx") or (
        check.tolerance is None
    ):
        return check
    if check.runtime.startswith("litert-gpu"):
        # The intermediate tensors are read on the CPU interpreter, which cannot see where
        # a GPU kernel goes wrong; the CPU checks of the same file say whether it is the file.
        return replace(check, localization=describe(
            None, "not localised: intermediate tensors are only readable on the CPU; compare "
                  "the tflite CPU checks of the same file"))
    feeds = dict(zip(artifact.input_names, case.values(), strict=True))
    try:
        found = localize(graph, targets[artifact.path], artifact.format, case, feeds,
                         check.tolerance)
        record = describe(found)
    except Exception as exc:  # evidence on top of the verdict: its failure must not hide it
        record = describe(None, f"localisation failed: {type(exc).__name__}: {exc}"[:300])
    reason = check.reason
    if record.get("layer"):
        reason += (f"; first diverging layer: {record['layer']} ({record['class_name']}), "
                   f"max abs {record['max_abs']:.3g}")
    return replace(check, reason=reason, localization=record)


def outcome_of(job: WorkerJob, workdir: Path, options: ConvertOptions) -> WorkerOutcome:
    """A runtime's outcome, skipping without a process when its library is missing."""
    missing = availability(job.runtime)
    if missing:
        return WorkerOutcome("skipped", missing)
    outcome = run_worker(job, workdir, options.timeout_s)
    if outcome.status == "timeout" and getattr(create(job.runtime), "slow", False):
        return replace(outcome, status="skipped", reason=(
            f"{outcome.reason}: {job.runtime} is a plain reference evaluator, too slow for this "
            "model here (raise --timeout to wait for it); the optimised runtimes check the "
            "same file"))
    return outcome


def in_source_layout(cases: list[Case], graph: ModelGraph) -> list[Case]:
    """The cases as the original model takes them (`--io-layout` may have changed it)."""
    names = [spec.name for spec in input_specs(graph)]
    return [{name: case[name] if order is None else np.transpose(case[name], np.argsort(order))
             for name, order in zip(names, graph.input_permutations, strict=True)}
            for case in cases]


def in_graph_layout(outcome: WorkerOutcome, graph: ModelGraph) -> WorkerOutcome:
    """The original model's outputs in the graph's (the artifacts') layout."""
    if outcome.status != "ok" or not any(graph.output_permutations):
        return outcome
    orders = graph.output_permutations
    return replace(outcome, outputs=[
        [array if order is None else np.transpose(array, order)
         for array, order in zip(case, orders, strict=True)] for case in outcome.outputs])


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
    reference_name: str = REFERENCE,
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
                           reason=f"the reference ({reference_name}) did not run: "
                                  f"{reference.reason}",
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
    bound = (f"{tolerance.atol:g} of the output range" if tolerance.scaled
             else f"atol {tolerance.atol:g} + rtol {tolerance.rtol:g}")
    reason = "" if passed else "; ".join(
        c.note or f"{c.name}: max abs {c.max_abs:.3g} exceeds {bound}" for c in worst)
    return ParityCheck(
        runtime, artifact.path, "passed" if passed else "failed",
        max(c.max_abs for c in comparisons), max(c.max_rel for c in comparisons),
        reason, tolerance, comparisons, outcome.seconds, outcome.facts,
    )
