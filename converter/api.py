"""The pipeline: load -> normalize -> build -> export -> verify -> report."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from converter.artifacts import ConvertResult, PassRecord
from converter.errors import EXIT_OK, EXIT_PARITY_FAILED, EXIT_RUNTIME_UNAVAILABLE
from converter.load import LoadOptions
from converter.options import ConvertOptions
from converter.report.schema import build_report
from converter.source import Source, open_source
from converter.staging import staging
from converter.stderr_capture import captured_stderr


def convert(source: Source, options: ConvertOptions | None = None) -> ConvertResult:
    """Convert a Keras model to TFLite and ONNX and prove parity on every runtime.

    Raises ConverterError (with an exit code) when the model cannot be loaded, normalised,
    built or exported; a parity mismatch is a result (`passed` False), not an exception.
    """
    from converter.build import build
    from converter.custom_objects import resolve_custom_objects
    from converter.export import export
    from converter.normalize import normalize
    from converter.verify import verify

    options = options or ConvertOptions()
    custom = resolve_custom_objects(options.custom_objects)
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        with timed(timings, "load"), captured_stderr():
            loaded, reference_file, stem = open_source(source, stack, LoadOptions(
                options.arch, options.source_backend, options.allow_lambda, custom))
        with captured_stderr():  # TensorFlow's native start-up chatter is not the user's
            import tensorflow  # noqa: F401
        with timed(timings, "normalize"):
            if loaded.reference_loader == "tf_saved_model":
                graph, passes = loaded.graph, [SIGNATURE_ONLY]
            else:
                graph, passes = normalize(loaded.graph)
        with timed(timings, "build"):
            unrolled: list[str] = []
            models = {"tflite": build(graph, unrolled, custom, options.allow_lambda)}
            models["onnx"] = (build(graph, None, custom, options.allow_lambda) if unrolled
                              else models["tflite"])
            if unrolled:
                passes.append(PassRecord("unroll_static_recurrent (TFLite only)", True,
                                         tuple(unrolled)))
        with staging(options.output_dir) as stage:
            with timed(timings, "export"):
                artifacts = export(models, graph, stage, stem, options)
            with timed(timings, "verify"):
                parity = verify(graph, loaded.reference_loader, reference_file, artifacts, stage,
                                options)
            code = exit_code([c.status for c in parity.checks], parity.reference.status)
            report = build_report(
                provenance=loaded.provenance, passes=passes, artifacts=artifacts,
                reference={"runtime": parity.reference_runtime, "loader": loaded.reference_loader,
                           "status": parity.reference.status, "reason": parity.reference.reason,
                           "seconds": parity.reference.seconds},
                parity=parity.checks, inputs={"seed": options.seed, "cases": parity.cases},
                options=options, timings=timings, exit_code=code,
            )
            text = json.dumps(report, indent=2, sort_keys=True) + "\n"
            (stage / "report.json").write_text(text)
    return ConvertResult(
        code == EXIT_OK, code, loaded.provenance, tuple(passes), tuple(artifacts),
        parity.checks, str(options.output_dir.absolute() / "report.json"), report,
    )


SIGNATURE_ONLY = PassRecord(
    "normalization skipped", False,
    ("a SavedModel without Keras metadata has no layer graph: exported from its "
     "serving_default signature as it is",),
)


def exit_code(statuses: list[str], reference: str) -> int:
    """0 all passed; 1 any failed, crashed or timed out; 4 a runtime could not run here."""
    if any(s in ("failed", "crashed", "timeout") for s in statuses) or reference in (
        "crashed", "timeout"
    ):
        return EXIT_PARITY_FAILED
    if reference == "skipped" or any(s == "skipped" for s in statuses):
        return EXIT_RUNTIME_UNAVAILABLE
    return EXIT_OK


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Record a stage's wall time in the report."""
    start = time.monotonic()
    yield
    timings[stage] = time.monotonic() - start
