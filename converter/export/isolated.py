"""Run build + export in a worker process: an exporter crash is a reported error, not ours.

The graphs go to the worker as graph_io's JSON + .npz; the artifacts come back as their
descriptions (the files themselves are written straight into the staging directory). A
worker killed by a signal, or silent past the stage's time limit, becomes an ExportError
(exit 3) naming what happened; nothing is published. An exception in converter's own code
there is an InternalError.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from converter.artifacts import Artifact, ModelGraph
from converter.errors import ExportError, InternalError
from converter.graph.serialize import save_graph
from converter.options import ConvertOptions
from converter.process.worker import Outcome, how_it_ended, last_line, run_task
from converter.report.schema import jsonable


def export_isolated(
    targets: dict[str, ModelGraph], stage: Path, stem: str, options: ConvertOptions,
) -> tuple[list[Artifact], float]:
    """The artifacts written into `stage` from each target's graph, and the build time.

    Each target is built and exported by its own worker, the targets at once (a warm
    TensorFlow server forks both): the TFLite converter and tf2onnx each use one core.
    """
    order = [target for target in ("tflite", "onnx") if target in targets]
    with ThreadPoolExecutor(max(1, len(order))) as pool:
        answers = list(pool.map(lambda target: export_target(
            targets[target], target, stage, stem, replace(options, to=(target,))), order))
    for outcome in answers:
        if outcome.status != "ok":
            raise failure(outcome, options)
    artifacts = [Artifact(**{**a, "input_names": tuple(a["input_names"]),
                             "output_names": tuple(a["output_names"]),
                             "lowerings": tuple(a.get("lowerings", ()))})
                 for outcome in answers for a in outcome.answer["artifacts"]]
    return artifacts, max((float(o.answer["build_seconds"]) for o in answers), default=0.0)


def export_target(graph: ModelGraph, target: str, stage: Path, stem: str,
                  options: ConvertOptions) -> Outcome:
    """One target's artifacts, built and exported in a worker."""
    with tempfile.TemporaryDirectory(prefix="converter-export-") as tmp:
        saved = str(save_graph(graph, Path(tmp) / "graph.json"))
        request = {"graphs": {target: saved}, "stage": str(stage), "stem": stem,
                   "options": jsonable(options)}
        return run_task("converter.export.worker", request, Path(tmp), options.timeout_s,
                        server="tensorflow")


def failure(outcome: Outcome, options: ConvertOptions) -> Exception:
    """The error an export worker that did not answer stands for."""
    if outcome.error is not None:
        return outcome.error
    if outcome.status == "timeout":
        return ExportError(f"building and exporting took longer than {options.timeout_s:g} s"
                           " (--timeout); raise it for a model this large")
    if outcome.status == "raised" and outcome.bug:
        return InternalError(f"building and exporting raised {outcome.reason}", outcome.where)
    if outcome.status == "raised":
        return ExportError(f"the exporter failed on this model: {outcome.reason} (in "
                           f"{outcome.where}); nothing was written")
    return ExportError(f"the exporter {how_it_ended(outcome)} while converting this model; "
                       f"nothing was written ({last_line(outcome.stderr)})")
