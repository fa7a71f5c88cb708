"""Parity stage: every runtime on every artifact it accepts, against the reference outputs."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from converter.artifacts import Artifact, ModelGraph, ParityCheck
from converter.graph.interface import input_specs, output_names
from converter.graph.logits import logit_outputs, with_logits
from converter.graph.serialize import save_arrays, save_graph
from converter.options import ConvertOptions
from converter.parity.disagreement import settled
from converter.parity.evidence import Probe, finished, localized, per_layer, probe_file
from converter.parity.inputs import Case, Drawn, parity_cases
from converter.parity.judge import Expected, expected_from
from converter.parity.runner import WorkerJob, WorkerOutcome, run_worker
from converter.parity.runtimes import REFERENCE, availability, create
from converter.parity.sampling import Sampled, copies_sampled, cut, sampled
from converter.parity.source_layers import source_departure, with_departure
from converter.report.progress import Silent, StageListener

__all__ = ["GRAPH_ARTIFACT", "ParityRun", "Started", "reference_started", "scratch_dir",
           "verify"]

GRAPH_ARTIFACT = "normalized-graph"
T = TypeVar("T")
# Runtimes the planted-defect copies run on by default (--power auto): the optimised CPU
# ones at fp32 tolerance, and there only where the copies cost less than the check itself
# (the worker measures both; `worker.power_cost`).
POWER_BY_DEFAULT = ("tflite-xnnpack", "tflite-builtin", "ort-cpu", "ort-cpu-noopt")


@dataclass(frozen=True)
class ParityRun:
    """The parity stage's record: the reference's own outcome, the checks, the inputs."""

    reference: WorkerOutcome
    checks: tuple[ParityCheck, ...]
    cases: tuple[dict[str, list[int]], ...]
    reference_runtime: str = REFERENCE
    inputs: Mapping[str, Any] = field(default_factory=dict)
    per_layer: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Started:
    """A parity run begun before the artifacts exist.

    Its inputs are drawn and its reference runs (`reference` resolves to the reference's
    outcome and name).
    """

    graph: ModelGraph
    source: Path
    drawn: Drawn
    plan: Plan
    reference: Future[tuple[WorkerOutcome, str]]


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """The folder a parity run's workers write into, removed on leaving it.

    Enter it before the servers those workers belong to: the servers close first, so no
    worker still writes (a reference left running by a failed export) while it is removed.
    A server kills a closed client's children on its own side, a moment later, so a file
    written in that moment is left rather than turned into an error after the real one.
    """
    return tempfile.TemporaryDirectory(prefix="converter-verify-", ignore_cleanup_errors=True)


@contextmanager
def reference_started(graph: ModelGraph, loader: str, source: Path, options: ConvertOptions,
                      scratch: Path) -> Iterator[Started]:
    """Draw the parity inputs and run the reference on them while the caller exports.

    `graph` is the normalised graph (its interface is the artifacts'); `loader` names the
    library that loads the `source` file for the reference runtime; its files go under
    `scratch` (from `scratch_dir`). The reference runs on a daemon thread: leaving the
    block early (the export failed) neither waits for it nor keeps the process alive for
    it (its worker dies with the conversion's servers), and it starts no other worker.
    """
    drawn = parity_cases(graph, options)
    plan = Plan(graph, loader, scratch, options, drawn.cases,
                write_cases(drawn.cases, scratch / "inputs.npz"))
    try:
        yield Started(graph, source, drawn, plan, in_background(run_reference, plan, source))
    finally:
        plan.over.set()


def in_background(work: Callable[..., T], *args: Any) -> Future[T]:
    """`work(*args)` on a daemon thread, as a future."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def verify(started: Started, artifacts: list[Artifact], stage: Path,
           listener: StageListener | None = None) -> ParityRun:
    """Wait for the reference, then run each (runtime, artifact) pair in its own process.

    Each .tflite/.onnx file is probed first for its logits and planted-defect copies
    (`evidence`).
    """
    graph, drawn, plan = started.graph, started.drawn, started.plan
    targets = {a.path: stage / a.path for a in artifacts} | {GRAPH_ARTIFACT: plan.graph_file}
    reference, reference_name = started.reference.result()
    expected = expected_from(reference, plan.outputs, plan.kinds)
    every = (*artifacts, plan.graph_artifact())
    pairs = [(r, a) for r in plan.options.selected_runtimes()
             if r not in (REFERENCE, reference_name)
             for a in every if create(r).accepts == a.format]
    probes = plan.probes(artifacts, targets, {a.path for r, a in pairs if plan.power(r)})
    outcomes = run_checks(plan, pairs, targets, probes, listener or Silent())
    checks = tuple(
        localized(judged(plan, runtime, artifact, outcome, (reference, reference_name),
                         expected, probes.get(artifact.path, Probe())),
                  artifact, graph, targets[artifact.path], drawn.cases[0])
        for (runtime, artifact), outcome in zip(pairs, outcomes, strict=True))
    checks = settled(checks, plan.options.runtimes)
    if reference_name == REFERENCE:
        checks = against_source(checks, graph, plan.loader, started.source, drawn.cases[0],
                                plan.options)
    layers = {a.path: per_layer(a, graph, targets[a.path], drawn.cases[0])
              for a in artifacts if plan.options.per_layer and a.format in ("tflite", "onnx")}
    shapes = tuple({k: list(v.shape) for k, v in case.items()} for case in drawn.cases)
    return ParityRun(reference, checks, shapes, reference_name,
                     {**drawn.record, "information": information_record(expected)}, layers)


def judged(plan: Plan, runtime: str, artifact: Artifact, outcome: WorkerOutcome,
           reference: tuple[WorkerOutcome, str], expected: Expected,
           probe: Probe) -> ParityCheck:
    """One runtime's check against the rows it read, with what it read in its facts.

    On large cases a plain evaluator reads one row of each, and the planted copies of an
    fp32 file run on those rows too (`sampling`).
    """
    rows, copies = plan.sampled_for(runtime), plan.copy_rows(runtime, artifact)
    expected, copies_expected, probe = cut(expected, probe, rows, copies,
                                           plan.copies_sampled(artifact))
    check = finished(runtime, artifact, outcome, reference[0], expected, probe, plan.squashed,
                     reference[1], plan.power(runtime), copies_expected)
    if check.status not in ("passed", "failed", "inconclusive"):
        return check
    if copies and check.power and check.power["planted"]:
        check = replace(check, power={**check.power, "rows": copies.copies_note})
    return replace(check, facts={**check.facts, "rows": rows.note}) if rows else check


def run_checks(plan: Plan, pairs: list[tuple[str, Artifact]], targets: dict[str, Path],
               probes: dict[str, Probe], told: StageListener) -> list[WorkerOutcome]:
    """Each (runtime, artifact) pair's worker outcome, two at a time."""
    def checked(pair: tuple[str, Artifact]) -> WorkerOutcome:
        runtime, artifact = pair
        told.begin(f"{runtime} on {artifact.path}")
        copies = tuple(d["path"] for d in probes[artifact.path].defects) if plan.power(
            runtime) else ()
        outcome = outcome_of(plan.job(runtime, targets[artifact.path], artifact.input_names,
                                      plan.feeds_for(runtime), copies,
                                      copy_inputs=plan.sampled_inputs if plan.copy_rows(
                                          runtime, artifact) else None),
                             plan.workdir, plan.options)
        told.end(f"{runtime} on {artifact.path}",
                 "ran" if outcome.status == "ok" else outcome.status)
        return outcome

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(checked, pairs))


def against_source(checks: tuple[ParityCheck, ...], graph: ModelGraph, loader: str,
                   source: Path, case: Case, options: ConvertOptions) -> tuple[ParityCheck, ...]:
    """Where the graph's own checks failed, the checks localised against the original."""
    if not any(c.status == "failed" and c.artifact == GRAPH_ARTIFACT for c in checks):
        return checks
    cases = (in_source_layout([case], graph)[0] if any(graph.input_permutations) else case,
             case)
    return with_departure(checks, GRAPH_ARTIFACT,
                          source_departure(graph, loader, source, cases, options))


def information_record(expected: Expected) -> dict[str, Any]:
    """Per output: whether the reference values (and their logits) carry information."""
    return {name: {"informative": info.informative, "reason": info.reason,
                   "rows": info.rows, "saturated_rows": info.saturated_rows,
                   "classes": info.classes,
                   "logits_informative": expected.logit_information[name].informative
                   if name in expected.logit_information else None}
            for name, info in expected.information.items()}


@dataclass
class Plan:
    """What every worker of one parity run shares: the graph file, the inputs, the options.

    The graph file holds the logits graph (`graph.logits`) where an output is a softmax or
    sigmoid, so the runtimes of the graph compute the logits as extra outputs.
    """

    graph: ModelGraph
    loader: str
    workdir: Path
    options: ConvertOptions
    cases: list[Case]
    inputs: Path
    over: threading.Event = field(default_factory=threading.Event)  # the conversion ended

    def __post_init__(self) -> None:
        self.names = tuple(s.name for s in input_specs(self.graph))
        self.outputs = output_names(self.graph)
        self.squashed = logit_outputs(self.graph)
        self.kinds = {x.output: x.kind for x in self.squashed}
        self.graph_file = save_graph(with_logits(self.graph), self.workdir / "graph.json")
        self.sampled = sampled(self.graph, self.cases)
        self.sampled_inputs = write_cases(self.sampled.cases(self.cases),
                                          self.workdir / "sampled_inputs.npz") \
            if self.sampled else None

    def sampled_for(self, runtime: str) -> Sampled | None:
        """The rows a runtime reads where it does not read every row (`sampling`)."""
        return self.sampled if create(runtime).slow else None

    def copies_sampled(self, artifact: Artifact) -> bool:
        """Whether a file's planted copies run on the sampled rows (`sampling`)."""
        return copies_sampled(self.sampled, artifact.precision)

    def copy_rows(self, runtime: str, artifact: Artifact) -> Sampled | None:
        """The rows a check's planted copies read (None: every row).

        The check's own where it reads some, else the sampled ones of an fp32 file.
        """
        return self.sampled_for(runtime) or (
            self.sampled if self.copies_sampled(artifact) else None)

    def feeds_for(self, runtime: str) -> Path | None:
        """The inputs file a runtime's check reads (None: every row, `inputs`)."""
        return self.sampled_inputs if self.sampled_for(runtime) else None

    def graph_artifact(self) -> Artifact:
        """The normalised graph as a pseudo-artifact, for runtimes that interpret it (numpy)."""
        return Artifact(GRAPH_ARTIFACT, "graph", "graph", 0, "", {}, self.names,
                        output_names(with_logits(self.graph)))

    def power(self, runtime: str) -> bool:
        """Whether planted-defect copies run on this runtime (--power)."""
        return self.options.power == "full" or (
            self.options.power == "auto" and runtime in POWER_BY_DEFAULT)

    def job(self, runtime: str, target: Path, feed_names: tuple[str, ...] | None = None,
            feeds: Path | None = None, copies: tuple[str, ...] = (),
            logits: tuple[str, str, int] | None = None,
            copy_inputs: Path | None = None) -> WorkerJob:
        """One runtime on one target over the parity inputs."""
        return WorkerJob(runtime, str(target), self.loader, feeds or self.inputs,
                         len(self.cases), self.names, self.options.custom_objects,
                         self.options.allow_lambda, feed_names or self.names, copies, logits,
                         budgeted=self.options.power == "auto", copy_inputs=copy_inputs)

    def probes(self, artifacts: list[Artifact], targets: dict[str, Path],
               powered: set[str]) -> dict[str, Probe]:
        """Each file's probe (logits, defect copies), two at a time."""
        def one(artifact: Artifact) -> Probe:
            weighted = tuple(x.name for x in self.graph.layers if x.weights)
            return probe_file(artifact, targets[artifact.path], self.workdir, self.inputs,
                              len(self.cases), self.squashed,
                              weighted if artifact.path in powered else None,
                              self.options.timeout_s, self.options.power == "auto",
                              self.sampled_inputs if self.copies_sampled(artifact) else None)

        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(zip((a.path for a in artifacts), pool.map(one, artifacts), strict=True))


def run_reference(plan: Plan, source: Path) -> tuple[WorkerOutcome, str]:
    """The reference's outcome and name, with its logits where an output is squashed.

    The original model, fed and read in its own layout, or the NumPy interpreter of the
    graph where the original cannot run (and why). The logits come from the same worker: the
    NumPy reference runs the logits graph itself; beside the original, the graph is rebuilt
    with Keras there (keras-normalized), reading the same inputs.
    """
    timeout = plan.options.timeout_s
    if plan.loader == "numpy":
        return split_logits(run_worker(plan.job("numpy", plan.graph_file), plan.workdir,
                                       timeout), plan), "numpy"
    graph = plan.graph
    source_inputs = plan.inputs if not any(graph.input_permutations) else write_cases(
        in_source_layout(plan.cases, graph), plan.workdir / "source_inputs.npz")
    logits = ("keras-normalized", str(plan.graph_file), len(plan.outputs)) if plan.squashed \
        else None
    reference = in_graph_layout(run_worker(plan.job(REFERENCE, source, feeds=source_inputs,
                                                    logits=logits), plan.workdir, timeout),
                                graph)
    if reference.status == "ok" or plan.over.is_set():  # over: its servers closed on it
        return reference, REFERENCE
    # The original cannot run (e.g. a deferred-build file Keras cannot load): the
    # independent NumPy interpreter of the graph becomes the reference, and says why.
    fallback = split_logits(run_worker(plan.job("numpy", plan.graph_file), plan.workdir,
                                       timeout), plan)
    if fallback.status != "ok":
        return reference, REFERENCE
    reason = f"{REFERENCE} could not run the original ({reference.reason}); " \
             "the NumPy reference was used instead"
    return replace(fallback, reason=reason), "numpy"


def split_logits(outcome: WorkerOutcome, plan: Plan) -> WorkerOutcome:
    """The logits graph's outputs as the model's outputs and the logits."""
    count = len(plan.outputs)
    if outcome.status != "ok":
        return outcome
    return replace(outcome, outputs=[case[:count] for case in outcome.outputs],
                   logits=[case[count:] for case in outcome.outputs] if plan.squashed else [])


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
