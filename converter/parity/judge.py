"""Turn what a runtime computed into a check: compared outputs, logits, information, power.

Outputs are matched by name (the reference's are in the graph's order, an artifact's in its
own). Where an output is a softmax or sigmoid, its logits are compared too, so a saturated
output does not hide a wrong model; a check is `inconclusive` when none of its outputs (nor
their logits) carries information, and its detection power is the planted defects the same
comparison catches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from converter.artifacts import Artifact, OutputComparison, ParityCheck, Tolerance
from converter.parity.compare import compare_output
from converter.parity.information import Information, assess
from converter.parity.localize import aligned
from converter.parity.runner import WorkerOutcome
from converter.parity.tolerances import tolerance_for

Series = list[np.ndarray]  # one array per case


@dataclass(frozen=True)
class Expected:
    """The reference side of every check, by output name: values, logits, information."""

    outputs: dict[str, Series]
    logits: dict[str, Series] = field(default_factory=dict)
    information: dict[str, Information] = field(default_factory=dict)
    logit_information: dict[str, Information] = field(default_factory=dict)


def expected_from(reference: WorkerOutcome, names: Sequence[str],
                  kinds: Mapping[str, str]) -> Expected:
    """The reference's outputs and logits by name, and what each carries."""
    if reference.status != "ok":
        return Expected({})
    outputs = {name: [case[i] for case in reference.outputs] for i, name in enumerate(names)}
    logits = {name: [case[i] for case in reference.logits]
              for i, name in enumerate(n for n in names if n in kinds)} if reference.logits \
        else {}
    return Expected(outputs, logits,
                    {name: assess(values, kinds.get(name)) for name, values in outputs.items()},
                    {name: assess(values) for name, values in logits.items()})


def bound(tolerance: Tolerance) -> str:
    """A tolerance in words."""
    return (f"{tolerance.atol:g} of the output range" if tolerance.scaled
            else f"atol {tolerance.atol:g} + rtol {tolerance.rtol:g}")


def comparisons(names: Sequence[str], observed: Mapping[str, Series],
                logits: Mapping[str, Series], expected: Expected,
                tolerance: Tolerance) -> tuple[OutputComparison, ...]:
    """Each output compared, with its logits where both sides have them."""
    found = []
    for name in names:
        compared = compare_output(name, observed[name], expected.outputs[name], tolerance)
        information = expected.information.get(name, Information(True))
        logit = None
        if name in expected.logits and name in logits:
            # A file may hold the logits in another layout (flattened, transposed inside).
            actual = [shaped if (shaped := aligned(a, e)) is not None else a
                      for a, e in zip(logits[name], expected.logits[name], strict=True)]
            logit = compare_output(f"{name} logits", actual, expected.logits[name], tolerance)
        found.append(replace(compared, logits=logit, informative=information.informative,
                             information=information.reason))
    return tuple(found)


def verdict(found: Sequence[OutputComparison], expected: Expected,
            tolerance: Tolerance) -> tuple[str, str]:
    """(status, reason) of a check's comparisons."""
    wrong = [c for c in found if not c.passed] + [c.logits for c in found
                                                 if c.logits is not None and not c.logits.passed]
    if wrong:
        return "failed", "; ".join(
            c.note or f"{c.name}: max abs {c.max_abs:.3g} exceeds {bound(tolerance)}"
            for c in wrong)
    carrying = [c for c in found if c.informative or (
        c.logits is not None and expected.logit_information.get(
            c.name, Information(False)).informative)]
    if found and not carrying:
        return "inconclusive", "; ".join(
            f"{c.name}: the reference carries no information ({c.information})"
            + ("" if c.logits is not None else "; its logits could not be read")
            for c in found)
    return "passed", ""


def judge(runtime: str, artifact: Artifact, outcome: WorkerOutcome, reference: WorkerOutcome,
          expected: Expected, logits: Mapping[str, Series], reference_name: str) -> ParityCheck:
    """A runtime's outcome as a check against the reference."""
    tolerance = tolerance_for(runtime, artifact.precision)
    if outcome.status != "ok":
        return ParityCheck(runtime, artifact.path, outcome.status, reason=outcome.reason,
                           tolerance=tolerance, seconds=outcome.seconds)
    if reference.status != "ok":
        return ParityCheck(runtime, artifact.path, "skipped",
                           reason=f"the reference ({reference_name}) did not run: "
                                  f"{reference.reason}",
                           tolerance=tolerance, seconds=outcome.seconds)
    names = [n for n in artifact.output_names if n in expected.outputs]
    observed = {name: [case[i] for case in outcome.outputs]
                for i, name in enumerate(artifact.output_names) if i < len(outcome.outputs[0])}
    if len(names) != len(expected.outputs) or any(n not in observed for n in names):
        return ParityCheck(runtime, artifact.path, "failed", tolerance=tolerance,
                           seconds=outcome.seconds,
                           reason=f"{len(outcome.outputs[0])} outputs, the reference has "
                                  f"{len(expected.outputs)}")
    found = comparisons(names, observed, logits, expected, tolerance)
    status, reason = verdict(found, expected, tolerance)
    drift = float(outcome.facts.get("repeat_max_abs", 0.0))
    if drift > drift_bound(tolerance, expected):
        status, reason = "failed", "; ".join(filter(None, (reason, (
            f"the first input run again after the others gave other outputs (max abs "
            f"{drift:.3g}): the file keeps state between invocations, so an app's second "
            "call differs from its first"))))
    return ParityCheck(
        runtime, artifact.path, status,  # type: ignore[arg-type]
        max(c.max_abs for c in found), max(c.max_rel for c in found), reason, tolerance,
        found, outcome.seconds, outcome.facts)


def drift_bound(tolerance: Tolerance, expected: Expected) -> float:
    """How far a second call on the same input may move an output: the absolute tolerance."""
    if not tolerance.scaled:
        return tolerance.atol
    largest = max((float(np.max(np.abs(a), initial=0.0)) for series in expected.outputs.values()
                   for a in series), default=1.0)
    return tolerance.atol * largest


def power_of(check: ParityCheck, artifact: Artifact, defects: Sequence[Mapping[str, Any]],
             copies: Sequence[Sequence[Sequence[np.ndarray]]],
             copy_logits: Sequence[Mapping[str, Series]], expected: Expected) -> dict[str, Any]:
    """Which planted defects the same comparison catches (`copies`: outputs per case)."""
    tolerance = check.tolerance or tolerance_for(check.runtime, artifact.precision)
    names = [n for n in artifact.output_names if n in expected.outputs]
    found = []
    for defect, outputs, logits in zip(defects, copies, copy_logits, strict=True):
        observed = {name: [case[i] for case in outputs]
                    for i, name in enumerate(artifact.output_names)}
        compared = comparisons(names, observed, logits, expected, tolerance)
        status, _ = verdict(compared, expected, tolerance)
        worst = max(compared, key=lambda c: float(np.nan_to_num(c.max_abs, nan=np.inf)))
        found.append({"kind": defect["kind"], "defect": defect["description"],
                      "caught": status == "failed", "max_abs": worst.max_abs})
    caught = [d for d in found if d["caught"]]
    return {"planted": len(found), "caught": len(caught), "defects": found,
            "smallest_caught": caught[0]["defect"] if caught else None}
