"""Evidence beyond a runtime's outputs.

Each file's logits and planted copies, and where a failing check first diverges.

A probe task per .tflite/.onnx file (`probe.py`) reads the logits of its softmax or sigmoid
outputs and writes the defect copies the power measurement runs; `finished` turns a
runtime's outcome into its check with all of it: compared outputs and logits, detection
power, localisation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import Artifact, ModelGraph, ParityCheck
from converter.graph.logits import Logits
from converter.parity.judge import Expected, Series, judge, power_of
from converter.parity.localize import describe, layer_errors, localize, unexplained
from converter.parity.runner import WorkerOutcome
from converter.parity.tolerances import tolerance_for
from converter.process.worker import run_task

FILE_FORMATS = ("tflite", "onnx")


@dataclass(frozen=True)
class Probe:
    """What a file's probe found.

    Its defect copies, and logits per file (0: the artifact, k: copy k) by output name, or
    why there are none.
    """

    defects: tuple[Mapping[str, Any], ...] = ()
    logits: dict[int, dict[str, Series]] = field(default_factory=dict)
    note: str = ""
    power_note: str = ""  # why no copies were planted (--power auto: they cost too much)


def probe_file(artifact: Artifact, target: Path, workdir: Path, inputs: Path, cases: int,
               squashed: tuple[Logits, ...], power: tuple[str, ...] | None,
               timeout_s: float, budgeted: bool = False,
               copy_inputs: Path | None = None) -> Probe:
    """Run the probe task for one file; a probe that fails leaves a note, not an error.

    `power`: the graph's weighted layers, which the defects are planted by (None: no power);
    `budgeted`: only where the copies cost less than a check (--power auto); `copy_inputs`:
    the rows the copies run on where they are not all (`sampling`).
    """
    if artifact.format not in FILE_FORMATS or (power is None and not squashed):
        return Probe()
    folder = workdir / f"probe-{target.name}"
    folder.mkdir(exist_ok=True)
    result = folder / "logits.npz"
    request = {"path": str(target), "format": artifact.format, "power": power is not None,
               "layers": list(power or ()),
               "outputs": [x.output for x in squashed], "inputs": str(inputs),
               "copy_inputs": str(copy_inputs) if copy_inputs else None,
               "cases": cases, "result": str(result),
               "input_names": list(artifact.input_names),
               "feed_names": list(artifact.input_names),
               "artifact_outputs": list(artifact.output_names),
               "budgeted": budgeted, "started": time.time()}
    outcome = run_task("converter.parity.probe", request, folder, timeout_s, server="light")
    if outcome.status != "ok":
        return Probe(note=f"the logits and defect copies could not be made: {outcome.reason}")
    with np.load(result, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    logits: dict[int, dict[str, Series]] = {}
    for key in sorted(arrays, key=lambda k: (int(k.split("/")[0]), int(k.split("/")[1]))):
        index, case, name = key.split("/", 2)
        logits.setdefault(int(index), {}).setdefault(name, []).append(arrays[key])
    missing = [x.output for x in squashed if x.output not in outcome.answer["located"]]
    note = f"no softmax/sigmoid found before outputs {missing} in the file" if missing else ""
    return Probe(tuple(outcome.answer["defects"]), logits, note,
                 str(outcome.answer.get("power_note") or ""))


def graph_logits(artifact: Artifact, outcome: WorkerOutcome,
                 squashed: tuple[Logits, ...]) -> dict[str, Series]:
    """The logits a runtime of the graph computed as extra outputs (the logits graph)."""
    if outcome.status != "ok":
        return {}
    position = {name: i for i, name in enumerate(artifact.output_names)}
    return {x.output: [case[position[x.name]] for case in outcome.outputs]
            for x in squashed if x.name in position}


def finished(runtime: str, artifact: Artifact, outcome: WorkerOutcome, reference: WorkerOutcome,
             expected: Expected, found: Probe, squashed: tuple[Logits, ...],
             reference_name: str, powered: bool = False,
             copies_expected: Expected | None = None) -> ParityCheck:
    """The check of one runtime on one artifact, with its logits and detection power.

    `powered`: whether this check was to run the planted copies (--power);
    `copies_expected`: the reference on the rows the copies ran on, where not `expected`'s.
    """
    logits = found.logits.get(0, {}) if artifact.format in FILE_FORMATS else graph_logits(
        artifact, outcome, squashed)
    check = judge(runtime, artifact, outcome, reference, expected, logits, reference_name)
    if check.status in ("passed", "failed", "inconclusive") and outcome.copies:
        power = power_of(check, artifact, found.defects, outcome.copies,
                         [found.logits.get(k + 1, {}) for k in range(len(outcome.copies))],
                         copies_expected or expected)
        check = replace(check, power=power)
    elif check.status in ("passed", "failed", "inconclusive") and powered and (
            outcome.power_note or found.power_note):
        check = replace(check, power={"planted": 0, "caught": 0, "defects": [],
                                      "smallest_caught": None,
                                      "note": outcome.power_note or found.power_note})
    if found.note and squashed and check.reason and "logits could not be read" in check.reason:
        check = replace(check, reason=f"{check.reason} ({found.note})")
    return check


def localized(check: ParityCheck, artifact: Artifact, graph: ModelGraph, target: Path,
              case: Mapping[str, np.ndarray]) -> ParityCheck:
    """A failed check on a .tflite/.onnx file, with the first diverging layer named."""
    if check.status != "failed" or artifact.format not in FILE_FORMATS or (
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
        found, agrees = localize(graph, target, artifact.format, case, feeds, check.tolerance)
        record = describe(found, logits_only(check))
        if agrees and not logits_only(check):
            record = {**describe(None, unexplained(found, check.max_abs or 0.0)),
                      "candidate": record.get("layer")}
    except Exception as exc:  # evidence on top of the verdict: its failure must not hide it
        record = describe(None, f"localisation failed: {type(exc).__name__}: {exc}"[:300])
    reason = check.reason
    if record.get("layer"):
        reason += (f"; first diverging layer: {record['layer']} ({record['class_name']}), "
                   f"max abs {record['max_abs']:.3g}")
    elif "candidate" in record:
        reason += f"; {record['note']}"
    return replace(check, reason=reason, localization=record)


def logits_only(check: ParityCheck) -> str:
    """Where only logits failed, why no layer output diverges (else "")."""
    outputs = [c for c in check.outputs if c.logits is not None and not c.logits.passed]
    if not outputs or any(not c.passed for c in check.outputs):
        return ""
    names = ", ".join(c.name for c in outputs)
    return (f"every layer output agrees on these inputs: the saturated softmax/sigmoid hides "
            f"the difference; the logits of {names} differ, so the layer that computes them "
            f"or one before it is wrong")


def per_layer(artifact: Artifact, graph: ModelGraph, target: Path,
              case: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Every layer's output in a file against the NumPy reference's (--per-layer).

    Read on the CPU interpreter that keeps every tensor, at the file's own tolerance on the
    optimised CPU runtime of its format.
    """
    runtime = "tflite-builtin" if artifact.format == "tflite" else "ort-cpu-noopt"
    tolerance = tolerance_for(runtime, artifact.precision)
    feeds = dict(zip(artifact.input_names, case.values(), strict=True))
    try:
        errors = layer_errors(graph, target, artifact.format, case, feeds, tolerance)
    except Exception as exc:  # evidence beside the verdict: its failure must not hide it
        return {"layers": [], "note": f"per-layer comparison failed: {type(exc).__name__}: "
                                      f"{exc}"[:300]}
    return {"layers": [asdict(e) for e in errors], "tolerance": asdict(tolerance),
            "note": f"{len(errors)} of {len(graph.layers)} layers found in the file"}
