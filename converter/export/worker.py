"""Build and export in a process of its own (a `process.worker` task).

The TFLite converter and tf2onnx run native code that can crash the interpreter; here a
crash ends this process only, and the parent (isolated.py) reports it. The request names the
saved graph of each target, the options and the staging directory; the answer is the
artifacts' descriptions and the build time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converter.graph.serialize import load_graph
from converter.options import ConvertOptions
from converter.report.schema import jsonable


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Build each target's model, write every artifact into the staging directory."""
    from converter.build import build_targets
    from converter.export.write import export
    from converter.load.custom_objects import resolve_custom_objects
    from converter.parity.inputs import calibration_cases

    options = ConvertOptions(**request["options"])
    read = {path: load_graph(Path(path)) for path in set(request["graphs"].values())}
    graphs = {target: read[path] for target, path in request["graphs"].items()}
    # The targets' graphs differ only inside (TFLite's unrolled loops): same interface.
    interface = graphs.get("onnx") or graphs["tflite"]
    start = time.monotonic()
    models = build_targets(graphs, resolve_custom_objects(options.custom_objects),
                           options.allow_lambda)
    built = time.monotonic() - start
    calibration = calibration_cases(interface, options) if "int8" in options.precision and (
        "tflite" in options.to) else None
    artifacts = export(models, interface, Path(request["stage"]), request["stem"], options,
                       calibration)
    return {"artifacts": jsonable(artifacts), "build_seconds": built}
