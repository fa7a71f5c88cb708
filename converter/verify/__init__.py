"""Verify stage: every runtime on every artifact it accepts, against the reference outputs."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from converter.artifacts import Artifact, ModelGraph, ParityCheck
from converter.graph.interface import input_specs, output_names
from converter.graph.serialize import save_arrays, save_graph
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
    cases = parity_cases(graph, options)
    shapes = tuple({k: list(v.shape) for k, v in case.items()} for case in cases)
    with tempfile.TemporaryDirectory(prefix="converter-verify-") as tmp:
        plan = Plan(graph, loader, Path(tmp), options, cases, write_cases(cases,
                                                                          Path(tmp) / "inputs.npz"))
        graph_artifact = plan.graph_artifact()
        targets = {a.path: stage / a.path for a in artifacts} | {GRAPH_ARTIFACT: plan.graph_file}
        reference, reference_name = run_reference(plan, source)
        pairs = [(r, a) for r in options.selected_runtimes()
                 if r not in (REFERENCE, reference_name)
                 for a in (*artifacts, graph_artifact) if create(r).accepts == a.format]
        told = listener or Silent()

        def checked(pair: tuple[str, Artifact]) -> WorkerOutcome:
            runtime, artifact = pair
            told.begin(f"{runtime} on {artifact.path}")
            outcome = outcome_of(plan.job(runtime, targets[artifact.path], artifact.input_names),
                                 plan.workdir, options)
            told.end(f"{runtime} on {artifact.path}",
                     "ran" if outcome.status == "ok" else outcome.status)
            return outcome

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(checked, pairs))
    checks = tuple(
        localized(judge(runtime, artifact, outcome, reference, plan.outputs, reference_name),
                  artifact, graph, targets, cases[0])
        for (runtime, artifact), outcome in zip(pairs, outcomes, strict=True)
    )
    return ParityRun(reference, checks, shapes, reference_name)


@dataclass
class Plan:
    """What every worker of one parity run shares: the graph file, the inputs, the options."""

    graph: ModelGraph
    loader: str
    workdir: Path
    options: ConvertOptions
    cases: list[Case]
    inputs: Path

    def __post_init__(self) -> None:
        self.names = tuple(s.name for s in input_specs(self.graph))
        self.outputs = output_names(self.graph)
        self.graph_file = save_graph(self.graph, self.workdir / "graph.json")

    def graph_artifact(self) -> Artifact:
        """The normalised graph as a pseudo-artifact, for runtimes that interpret it (numpy)."""
        return Artifact(GRAPH_ARTIFACT, "graph", "graph", 0, "", {}, self.names, self.outputs)

    def job(self, runtime: str, target: Path, feed_names: tuple[str, ...] | None = None,
            feeds: Path | None = None) -> WorkerJob:
        """One runtime on one target over the parity inputs."""
        return WorkerJob(runtime, str(target), self.loader, feeds or self.inputs,
                         len(self.cases), self.names, self.options.custom_objects,
                         self.options.allow_lambda, feed_names or self.names)


def run_reference(plan: Plan, source: Path) -> tuple[WorkerOutcome, str]:
    """The reference's outcome and name.

    The original model, fed and read in its own layout, or the NumPy interpreter of the
    graph where the original cannot run (and why).
    """
    timeout = plan.options.timeout_s
    if plan.loader == "numpy":
        return run_worker(plan.job("numpy", plan.graph_file), plan.workdir, timeout), "numpy"
    graph = plan.graph
    source_inputs = plan.inputs if not any(graph.input_permutations) else write_cases(
        in_source_layout(plan.cases, graph), plan.workdir / "source_inputs.npz")
    reference = in_graph_layout(run_worker(plan.job(REFERENCE, source, feeds=source_inputs),
                                           plan.workdir, timeout), graph)
    if reference.status == "ok":
        return reference, REFERENCE
    # The original cannot run (e.g. a deferred-build file Keras cannot load): the
    # independent NumPy interpreter of the graph becomes the reference, and says why.
    fallback = run_worker(plan.job("numpy", plan.graph_file), plan.workdir, timeout)
    if fallback.status != "ok":
        return reference, REFERENCE
    reason = f"{REFERENCE} could not run the original ({reference.reason}); " \
             "the NumPy reference was used instead"
    return replace(fallback, reason=reason), "numpy"


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
    if outcome.status == "timeout" and create(job.runtime).slow:
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
    save_arrays(path, {f"{i}/{k}": v for i, case in enumerate(cases) for k, v in case.items()})
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
