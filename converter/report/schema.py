"""The JSON report (schema "converter.report/1"): the record every rendering reads."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from converter.artifacts import Artifact, ParityCheck, PassRecord, Provenance
from converter.options import ConvertOptions
from converter.parity.disagreement import disagreements

SCHEMA = "converter.report/1"
LIBRARIES = ("converter", "tensorflow", "keras", "tf-keras", "tf2onnx", "onnx", "onnx-ir",
             "onnxruntime", "ai-edge-litert", "numpy", "h5py")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the artifacts (read without import)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def jsonable(value: Any) -> Any:
    """Dataclasses, tuples and paths as JSON values; NaN and inf as strings (JSON has none)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def training_record(calls: Sequence[Any]) -> dict[str, Any]:
    """The source's calls in training mode (`normalize.call_arguments.TrainingCall`s)."""
    stochastic = [c.layer for c in calls if c.stochastic]
    note = "" if not calls else (
        f"the source model is {'stochastic' if stochastic else 'batch-dependent'} at "
        f"inference: {', '.join(c.layer for c in calls)} "
        f"{'is' if len(calls) == 1 else 'are'} called with training=True; exported and "
        "checked: the deterministic inference form (the reference ran those calls in "
        "inference mode)")
    return {"calls": [{**jsonable(c), "stochastic": c.stochastic} for c in calls],
            "stochastic": bool(stochastic), "note": note}


def build_report(
    *,
    provenance: Provenance,
    passes: Sequence[PassRecord],
    artifacts: Sequence[Artifact],
    reference: Mapping[str, Any],
    parity: Sequence[ParityCheck],
    inputs: Mapping[str, Any],
    options: ConvertOptions,
    timings: Mapping[str, float],
    exit_code: int,
    per_layer: Mapping[str, Any] | None = None,
    training_mode: Sequence[Any] = (),
) -> dict[str, Any]:
    """Assemble the report; `passed` is true only when every check passed."""
    return {
        "schema": SCHEMA,
        "passed": exit_code == 0,
        "exit_code": exit_code,
        "source": jsonable(provenance),
        "passes": jsonable(passes),
        "artifacts": jsonable(artifacts),
        "reference": jsonable(reference),
        "parity": jsonable(parity),
        "disagreements": disagreements(parity),
        "inputs": jsonable(inputs),
        "options": jsonable(options),
        "safety": {
            "lambda_bytecode_allowed": options.allow_lambda,
            "custom_objects": list(options.custom_objects),
            "note": ("Lambda layers' stored bytecode was allowed to run (--allow-lambda)"
                     if options.allow_lambda else "no code from the model file was run"),
        },
        "per_layer": jsonable(per_layer or {}),
        "training_mode": training_record(training_mode),
        "versions": library_versions(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
