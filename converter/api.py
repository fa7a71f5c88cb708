"""The pipeline: load -> normalize -> build -> export -> verify -> report."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from converter.artifacts import Artifact, ConvertResult, LoadedModel, ModelGraph, PassRecord
from converter.custom_objects import resolve_custom_objects
from converter.errors import EXIT_OK, EXIT_PARITY_FAILED, EXIT_RUNTIME_UNAVAILABLE
from converter.load import LoadOptions
from converter.options import ConvertOptions
from converter.report.progress import Silent, StageListener
from converter.report.schema import build_report
from converter.source import Source, open_source
from converter.staging import staging, write_atomically
from converter.stderr_capture import captured_stderr

if TYPE_CHECKING:
    from converter.verify import ParityRun


def convert(
    source: Source, options: ConvertOptions | None = None, listener: StageListener | None = None
) -> ConvertResult:
    """Convert a Keras model to TFLite and ONNX and prove parity on every runtime.

    `listener` is told as each stage starts and ends (the CLI draws progress with it).
    Raises ConverterError (with an exit code) when the model cannot be loaded, normalised,
    built or exported; a parity mismatch is a result (`passed` False), not an exception.
    """
    from converter.conv_batchnorm import with_folded_batchnorms
    from converter.export.isolated import export_isolated
    from converter.io_layout import with_channels_last_io
    from converter.static_shape import with_static_shape
    from converter.valid_windows import with_valid_windows
    from converter.verify import verify
    from converter.verify.delegates import with_delegate_checks

    options = options or ConvertOptions()
    custom = resolve_custom_objects(options.custom_objects)
    timings: dict[str, float] = {}
    listener = listener or Silent()
    with ExitStack() as stack:
        with timed(timings, "load", listener), captured_stderr():
            loaded, reference_file, stem = open_source(source, stack, LoadOptions(
                options.arch, options.source_backend, options.allow_lambda, custom,
                options.timeout_s))
        with timed(timings, "normalize", listener):
            graph, passes = normalized(loaded)
            if options.io_layout == "channels_last":
                graph, record = with_channels_last_io(graph)
                passes.append(record)
            if options.static_shape:
                graph, record = with_static_shape(graph, options.static_batch,
                                                  options.static_length)
                passes.append(record)
            # the files compute only what outputs read, batch norms folded into their convs;
            # parity runs the graph as normalised
            for_export = graph
            for export_pass in (with_valid_windows, with_folded_batchnorms):
                for_export, record = export_pass(for_export)
                passes += [record] if record.modified else []
        inputs = (reference_file, options.arch, options.inputs, options.calibration)
        with staging(options.output_dir, inputs) as stage:
            with timed(timings, "export", listener):  # build + export, in a worker process
                exported, unrolled, timings["build"] = export_isolated(for_export, stage, stem,
                                                                       options)
                artifacts = with_delegate_checks(exported, stage)
            if unrolled:
                passes.append(PassRecord("unroll_static_recurrent (TFLite only)", True,
                                         tuple(unrolled)))
            with timed(timings, "verify", listener):
                parity = verify(graph, loaded.reference_loader, reference_file, artifacts, stage,
                                options, listener)
            result = parity_result(loaded, passes, artifacts, parity, options, timings,
                                   options.output_dir.absolute() / "report.json")
            text = json.dumps(result.report, indent=2, sort_keys=True) + "\n"
            (stage / "report.json").write_text(text)
    return result


def normalized(loaded: LoadedModel) -> tuple[ModelGraph, list[PassRecord]]:
    """The normalised graph and pass records; a signature-only SavedModel skips the passes."""
    from converter.normalize import normalize

    if loaded.reference_loader == "tf_saved_model":
        return loaded.graph, [SIGNATURE_ONLY]
    return normalize(loaded.graph)


def parity_result(
    loaded: LoadedModel, passes: list[PassRecord], artifacts: list[Artifact], parity: ParityRun,
    options: ConvertOptions, timings: dict[str, float], report_path: Path,
) -> ConvertResult:
    """The exit code, the report and the result object of a parity run."""
    required = set(options.runtimes)
    code = exit_code([c.status if c.status != "skipped" or c.runtime in required else "optional"
                      for c in parity.checks], parity.reference.status)
    report = build_report(
        provenance=loaded.provenance, passes=passes, artifacts=artifacts,
        reference={"runtime": parity.reference_runtime, "loader": loaded.reference_loader,
                   "status": parity.reference.status, "reason": parity.reference.reason,
                   "seconds": parity.reference.seconds},
        parity=parity.checks, inputs={"seed": options.seed, "cases": parity.cases},
        options=options, timings=timings, exit_code=code,
    )
    return ConvertResult(code == EXIT_OK, code, loaded.provenance, tuple(passes),
                         tuple(artifacts), parity.checks, str(report_path), report)


def verify_files(
    source: Source, files: list[Path], options: ConvertOptions | None = None,
    report_path: Path | None = None, listener: StageListener | None = None,
) -> ConvertResult:
    """Parity of existing .tflite/.onnx files (from converter or any tool) against the model.

    The report is written to `report_path` when one is given.
    """
    from converter.interface import input_specs, output_names
    from converter.verify import verify
    from converter.verify.delegates import with_delegate_checks
    from converter.verify.external import describe_artifact

    options = options or ConvertOptions()
    timings: dict[str, float] = {}
    listener = listener or Silent()
    with ExitStack() as stack:
        with timed(timings, "load", listener), captured_stderr():
            loaded, reference_file, _ = open_source(source, stack, LoadOptions(
                options.arch, options.source_backend, options.allow_lambda,
                resolve_custom_objects(options.custom_objects), options.timeout_s))
            graph, passes = normalized(loaded)
            specs, outputs = input_specs(graph), output_names(graph)
            artifacts = with_delegate_checks(
                [describe_artifact(Path(f), specs, outputs) for f in files], Path.cwd())
        with timed(timings, "verify", listener):
            parity = verify(graph, loaded.reference_loader, reference_file, artifacts,
                            Path.cwd(), options, listener)
        result = parity_result(loaded, passes, artifacts, parity, options, timings,
                               report_path or Path("-"))
    if report_path is not None:
        write_atomically(report_path, json.dumps(result.report, indent=2, sort_keys=True) + "\n")
    return result


SIGNATURE_ONLY = PassRecord(
    "normalization skipped", False,
    ("a SavedModel without Keras metadata has no layer graph: exported from its "
     "serving_default signature as it is",),
)


def exit_code(statuses: list[str], reference: str) -> int:
    """0 all passed; 1 any failed, crashed or timed out; 4 a runtime asked for could not run.

    A default runtime that cannot run here arrives as "optional" and changes nothing.
    """
    if any(s in ("failed", "crashed", "timeout") for s in statuses) or reference in (
        "crashed", "timeout"
    ):
        return EXIT_PARITY_FAILED
    if reference == "skipped" or any(s == "skipped" for s in statuses):
        return EXIT_RUNTIME_UNAVAILABLE
    return EXIT_OK


@contextmanager
def timed(timings: dict[str, float], stage: str, listener: StageListener) -> Iterator[None]:
    """Record a stage's wall time in the report and tell the listener."""
    start = time.monotonic()
    listener.begin(stage)
    try:
        yield
    except BaseException:
        listener.end(stage, "failed")
        raise
    timings[stage] = time.monotonic() - start
    listener.end(stage)
