"""Build and export in a process of its own: `python -m converter.export.worker REQUEST`.

The TFLite converter and tf2onnx run native code that can crash the interpreter; here a
crash ends this process only, and the parent (isolated.py) reports it. The request names the
saved normalised graph, the options and the staging directory; the answer is the artifacts'
descriptions, the layers unrolled for TFLite and the build time, or the ConverterError.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from converter.errors import ConverterError, error_record
from converter.graph_io import load_graph
from converter.options import ConvertOptions
from converter.report.schema import jsonable


def main(request_path: Path) -> int:
    """Answer the request in `<request>.answer.json`."""
    from converter.build import build_targets
    from converter.custom_objects import resolve_custom_objects
    from converter.export import export
    from converter.verify.inputs import calibration_cases

    request = json.loads(request_path.read_text())
    answer_path = Path(f"{request_path}.answer.json")
    try:
        options = ConvertOptions(**request["options"])
        graph = load_graph(Path(request["graph"]))
        start = time.monotonic()
        models, unrolled = build_targets(graph, options,
                                         resolve_custom_objects(options.custom_objects))
        built = time.monotonic() - start
        calibration = calibration_cases(graph, options) if "int8" in options.precision else None
        artifacts = export(models, graph, Path(request["stage"]), request["stem"], options,
                           calibration)
        answer = {"artifacts": jsonable(artifacts), "unrolled": list(unrolled),
                  "build_seconds": built}
    except ConverterError as exc:
        answer = error_record(exc)
    answer_path.write_text(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
