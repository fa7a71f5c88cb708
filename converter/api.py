"""The pipeline: load -> normalize -> build -> export -> verify -> report."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from converter.artifacts import FAILURES, Artifact, ConvertResult, LoadedModel, PassRecord
from converter.errors import EXIT_OK, EXIT_PARITY_FAILED, EXIT_RUNTIME_UNAVAILABLE
from converter.load import LoadOptions
from converter.load.custom_objects import resolve_custom_objects
from converter.load.source import Source, open_source
from converter.options import ConvertOptions
from converter.process.pool import wait_ready, warm_servers
from converter.process.staging import staging, write_atomically
from converter.process.stderr_capture import captured_stderr
from converter.report.progress import Silent, StageListener
from converter.report.schema import build_report

if TYPE_CHECKING:
    from converter.parity.stage import ParityRun


def convert(
    source: Source, options: ConvertOptions | None = None, listener: StageListener | None = None
) -> ConvertResult:
    """Convert a Keras model to TFLite and ONNX and prove parity on every runtime.

    `listener` is told as each stage starts and ends (the CLI draws progress with it).
    Raises ConverterError (with an exit code) when the model cannot be loaded, normalised,
    built or exported; a parity mismatch is a result (`passed` False), not an exception.
    """
    from converter.export.isolated import export_isolated
    from converter.graph.pipeline import prepare
    from converter.parity.delegates import with_delegate_checks
    from converter.parity.stage import reference_started, scratch_dir, verify

    options = options or ConvertOptions()
    timings: dict[str, float] = {}
    listener = listener or Silent()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(scratch_dir()))  # removed after the servers close
        stack.enter_context(warm_servers())  # their imports overlap with loading
        with timed(timings, "load", listener), captured_stderr():
            loaded, reference_file, stem = open_source(source, stack, load_options(options))
        with timed(timings, "normalize", listener):
            prepared = prepare(loaded.graph, options, signature_only(loaded))
        inputs = (reference_file, options.arch, options.inputs, options.calibration)
        started = stack.enter_context(reference_started(
            prepared.checked, loaded.reference_loader, reference_file, options, scratch))
        with staging(options.output_dir, inputs) as stage:
            # TensorFlow's import in the warm server, once per process (or batch): timed on
            # its own, so that export times the export
            with timed(timings, "startup", listener):
                wait_ready("tensorflow", options.timeout_s)
            with timed(timings, "export", listener):  # build + export, in workers
                exported, timings["build"] = export_isolated(prepared.targets, stage, stem,
                                                             options)
            with timed(timings, "verify", listener), ThreadPoolExecutor(1) as beside:
                checked = beside.submit(with_delegate_checks, exported, stage, options.timeout_s)
                parity = verify(started, exported, stage, listener)
                artifacts = checked.result()
            result = parity_result(loaded, list(prepared.records), artifacts, parity, options,
                                   timings, options.output_dir.absolute() / "report.json")
            text = json.dumps(result.report, indent=2, sort_keys=True) + "\n"
            (stage / "report.json").write_text(text)
    return result


def load_options(options: ConvertOptions) -> LoadOptions:
    """How to read the source, from the conversion's options."""
    return LoadOptions(options.arch, options.source_backend, options.allow_lambda,
                       resolve_custom_objects(options.custom_objects), options.timeout_s,
                       options.custom_objects)


def signature_only(loaded: LoadedModel) -> bool:
    """Whether the source is a SavedModel without Keras metadata (no layer graph)."""
    return loaded.reference_loader == "tf_saved_model"


def parity_result(
    loaded: LoadedModel, passes: list[PassRecord], artifacts: list[Artifact], parity: ParityRun,
    options: ConvertOptions, timings: dict[str, float], report_path: Path,
) -> ConvertResult:
    """The exit code, the report and the result object of a parity run."""
    from converter.normalize.call_arguments import training_calls

    required = set(options.runtimes)
    code = exit_code([c.status if c.status != "skipped" or c.runtime in required else "optional"
                      for c in parity.checks], parity.reference.status,
                     options.allow_inconclusive)
    report = build_report(
        provenance=loaded.provenance, passes=passes, artifacts=artifacts,
        reference={"runtime": parity.reference_runtime, "loader": loaded.reference_loader,
                   "status": parity.reference.status, "reason": parity.reference.reason,
                   "seconds": parity.reference.seconds},
        parity=parity.checks,
        inputs={"seed": options.seed, "cases": parity.cases, **parity.inputs},
        options=options, timings=timings, exit_code=code, per_layer=parity.per_layer,
        training_mode=training_calls(loaded.graph),
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
    from converter.graph.interface import input_specs, output_names
    from converter.graph.pipeline import normalized
    from converter.parity.delegates import with_delegate_checks
    from converter.parity.external import describe_artifact
    from converter.parity.stage import reference_started, scratch_dir, verify

    options = options or ConvertOptions()
    timings: dict[str, float] = {}
    listener = listener or Silent()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(scratch_dir()))  # removed after the servers close
        stack.enter_context(warm_servers())
        with timed(timings, "load", listener), captured_stderr():
            loaded, reference_file, _ = open_source(source, stack, load_options(options))
            graph, records = normalized(loaded.graph, signature_only(loaded))
            specs, outputs = input_specs(graph), output_names(graph)
            artifacts = with_delegate_checks(
                [describe_artifact(Path(f), specs, outputs) for f in files], Path.cwd(),
                options.timeout_s)
        with timed(timings, "verify", listener), reference_started(
                graph, loaded.reference_loader, reference_file, options, scratch) as started:
            parity = verify(started, artifacts, Path.cwd(), listener)
        result = parity_result(loaded, records, artifacts, parity, options, timings,
                               report_path or Path("-"))
    if report_path is not None:
        write_atomically(report_path, json.dumps(result.report, indent=2, sort_keys=True) + "\n")
    return result


def exit_code(statuses: list[str], reference: str, allow_inconclusive: bool = False) -> int:
    """0 all passed; 1 any failed, crashed, timed out or was inconclusive; 4 a runtime missing.

    4: a runtime asked for by name could not run. A default runtime that cannot run here
    arrives as "optional" and changes nothing; an inconclusive check fails only unless
    `allow_inconclusive`.
    """
    failing = FAILURES if allow_inconclusive else FAILURES | {"inconclusive"}
    if any(s in failing for s in statuses) or reference in FAILURES:
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
