"""Run build + export in a worker process: an exporter crash is a reported error, not ours.

The normalised graph goes to the worker as graph_io's JSON + .npz; the artifacts come back
as their descriptions (the files themselves are written straight into the staging
directory). A worker killed by a signal, or silent past the stage's time limit, becomes an
ExportError (exit 3) naming what happened; nothing is published.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from converter.artifacts import Artifact, ModelGraph
from converter.errors import ExportError, from_record
from converter.graph_io import save_graph
from converter.options import ConvertOptions
from converter.report.schema import jsonable
from converter.verify.runner import how_it_ended, last_reason


def export_isolated(
    graph: ModelGraph, stage: Path, stem: str, options: ConvertOptions
) -> tuple[list[Artifact], list[str], float]:
    """The artifacts written into `stage`, the layers unrolled for TFLite, the build time."""
    with tempfile.TemporaryDirectory(prefix="converter-export-") as tmp:
        request = Path(tmp) / "request.json"
        request.write_text(json.dumps({
            "graph": str(save_graph(graph, Path(tmp) / "graph.json")), "stage": str(stage),
            "stem": stem, "options": jsonable(options)}))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        try:
            done = subprocess.run([sys.executable, "-m", "converter.export.worker", str(request)],
                                  capture_output=True, env=env, stdin=subprocess.DEVNULL,
                                  timeout=options.timeout_s)
        except subprocess.TimeoutExpired:
            raise ExportError(f"building and exporting took longer than {options.timeout_s:g} s"
                              " (--timeout); raise it for a model this large") from None
        answer_file = Path(f"{request}.answer.json")
        if done.returncode != 0 or not answer_file.exists():
            raise ExportError(f"the exporter {how_it_ended(done.returncode)} while converting "
                              f"this model; nothing was written ({last_reason(done.stderr)})")
        answer: dict[str, Any] = json.loads(answer_file.read_text())
    if "error" in answer:
        raise from_record(answer)
    artifacts = [Artifact(**{**a, "input_names": tuple(a["input_names"]),
                             "output_names": tuple(a["output_names"]),
                             "lowerings": tuple(a.get("lowerings", ()))})
                 for a in answer["artifacts"]]
    return artifacts, answer["unrolled"], answer["build_seconds"]
