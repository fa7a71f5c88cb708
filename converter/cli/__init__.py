"""The command line: flags -> options dataclass -> api -> summary -> exit code.

Only click, rich and the options module are imported at the top, so `converter --help`
answers without loading TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from converter.cli.batch import batch
from converter.cli.errors import errors_as_exit_codes
from converter.cli.output import Shown, rendering_options, show, unwind_on_sigterm
from converter.cli.report import report
from converter.errors import EXIT_MODEL_ERROR
from converter.options import (
    DEFAULT_RUNTIMES,
    IO_LAYOUTS,
    ONNX_LOWERINGS,
    POWER_MODES,
    PRECISIONS,
    SOURCE_BACKENDS,
    TARGETS,
    ConvertOptions,
)
from converter.parity.runtimes import REGISTRY

if TYPE_CHECKING:
    from converter.artifacts import ConvertResult
    from converter.report.progress import StageListener


RUNTIME_HELP = ("Parity runtime; repeat for several [default: every runtime that can run "
                f"here: {', '.join(DEFAULT_RUNTIMES)}; the GPU ones need a Vulkan driver].")

def parity_options(command: Callable[..., None]) -> Callable[..., None]:
    """The flags of the parity stage, shared by `convert` and `verify`."""
    flags = [
        click.option("--runtime", "runtimes", multiple=True,
                     type=click.Choice(sorted(REGISTRY)), help=RUNTIME_HELP),
        click.option("--inputs", type=click.Path(path_type=Path, exists=True, dir_okay=False),
                     default=None,
                     help=".npz of parity inputs keyed by input name (or x, x0..xN) "
                          "[default: synthetic inputs searched to keep outputs informative]."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of synthetic inputs."),
        click.option("--timeout", "timeout_s", type=float, default=300.0, show_default=True,
                     help="Seconds each stage (load, normalize, build, export) and each "
                          "runtime's check may take."),
        click.option("--allow-inconclusive", is_flag=True,
                     help="A check whose reference outputs carry no information (saturated, "
                          "constant) does not fail the run; it is still reported."),
        click.option("--power", type=click.Choice(POWER_MODES), default="auto",
                     show_default=True,
                     help="Planted-defect copies of each file run through the optimised CPU "
                          "checks (auto), every check (full) or none (off)."),
        click.option("--per-layer", is_flag=True,
                     help="Compare every layer's output in each file with the reference."),
    ]
    for flag in reversed(flags):
        command = flag(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="converter")
def main() -> None:
    """Convert Keras Conv1D models to TFLite and ONNX, with a parity report."""


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output-dir", type=click.Path(path_type=Path), default=None,
              help="Where the artifacts and report.json go [default: ./<model stem>-converted].")
@click.option("--to", "to", multiple=True, type=click.Choice(TARGETS), default=TARGETS,
              show_default=True, help="Export target; repeat for several.")
@click.option("--precision", multiple=True, type=click.Choice(PRECISIONS), default=("fp32",),
              show_default=True, help="TFLite precision; repeat for several.")
@click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset (9-18).")
@click.option("--onnx-lowering", type=click.Choice(ONNX_LOWERINGS), default="onnxruntime",
              show_default=True, help="ONNX convs in the form onnxruntime runs fastest, or "
                                      "native 1-D Convs throughout (other runtimes).")
@click.option("--calibration", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help=".npz that full int8 calibrates on [default: parity inputs].")
@click.option("--static-shape", is_flag=True,
              help="Fix batch and sequence length (for delegates that need static tensors).")
@click.option("--static-batch", type=int, default=1, show_default=True,
              help="Batch size under --static-shape.")
@click.option("--static-length", type=int, default=None,
              help="Sequence length under --static-shape (needed when the length is dynamic).")
@click.option("--dynamic-length", is_flag=True,
              help="Files that take any sequence length, whatever length the model declares "
                   "(refused, naming the layer, where the model is tied to it); with "
                   "--static-shape, --static-length N steps instead.")
@click.option("--unroll-recurrent", type=int, default=0, show_default=True, metavar="N",
              help="TFLite: unroll recurrent layers over static lengths of at most N steps "
                   "(0: none; LSTMs are fused ops, GRU/SimpleRNN loops, at any length).")
@click.option("--io-layout", type=click.Choice(IO_LAYOUTS), default="source", show_default=True,
              help="Inputs/outputs of a channels_first model: as the source, or channels_last.")
@parity_options
@click.option("--arch", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Architecture (.json/.yaml from model.to_json()) for a weights-only .h5.")
@click.option("--source-backend", type=click.Choice(SOURCE_BACKENDS), default=None,
              help="Backend that trained a legacy file's kernels [default: decided from the file].")
@click.option("--allow-lambda", is_flag=True,
              help="Run Lambda layers' stored bytecode (trusted files only; reported).")
@click.option("--custom-objects", "custom_objects", multiple=True, metavar="MODULE:CLASS",
              help="A layer class you trust, imported from your own module; repeatable.")
@rendering_options
def convert(model: Path, output_dir: Path | None, shown: Shown, **flags: object) -> None:
    """Convert MODEL (.keras or .h5), export, verify parity, write a report."""
    output_dir = output_dir or Path(f"{model.stem}-converted")

    def run(options: ConvertOptions, listener: StageListener) -> ConvertResult:
        from converter.api import convert as run_convert

        return run_convert(model, options, listener)

    def closing(result: ConvertResult) -> list[str]:
        wrote = [f"wrote {output_dir / artifact.path}" for artifact in result.artifacts]
        return [*wrote, f"report {result.report_path}"]

    finish(run, {"output_dir": output_dir, **flags}, shown, closing)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("artifacts", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@parity_options
@click.option("--arch", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Architecture (.json/.yaml) for a weights-only .h5.")
@click.option("--report-json", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Write the JSON report here.")
@rendering_options
def verify(model: Path, artifacts: tuple[Path, ...], report_path: Path | None, shown: Shown,
           **flags: object) -> None:
    """Check existing ARTIFACTS (.tflite/.onnx, from any tool) against MODEL.

    Exit 0 when every check passes, 1 when any fails (the first diverging layer is named).
    """
    def run(options: ConvertOptions, listener: StageListener) -> ConvertResult:
        from converter.api import verify_files

        return verify_files(model, list(artifacts), options, report_path, listener)

    finish(run, flags, shown, localizations)


def localizations(result: ConvertResult) -> list[str]:
    """One line per failed check whose first diverging layer was found."""
    return [
        f"{c.runtime} on {Path(c.artifact).name}: first diverging layer "
        f"{c.localization['layer']} ({c.localization['class_name']}), max abs "
        f"{c.localization['max_abs']:.3g}"
        for c in result.parity if c.localization and c.localization.get("layer")
    ]


def finish(
    run: Callable[[ConvertOptions, StageListener], ConvertResult], flags: dict[str, object],
    shown: Shown, closing: Callable[[ConvertResult], list[str]],
) -> None:
    """Options from flags, run, write the renderings, show the result, exit with its code.

    A ConverterError becomes one "error:" line and its exit code, never a traceback.
    """
    from converter.process.watchdog import Watchdog
    from converter.report.progress import listener_for
    from converter.report.render import write_renderings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with errors_as_exit_codes():
        shown.check()  # a wrong suffix is refused before any work
        options = ConvertOptions(**flags)  # type: ignore[arg-type]
        quiet_libraries()
        unwind_on_sigterm()
        with listener_for(shown.quiet, shown.as_json) as listener:
            result = run(options, Watchdog(listener, options.timeout_s))
        written = write_renderings(result.report, shown.files())
    show(result.report, shown, [*closing(result), *(f"rendered {p}" for p in written)])
    sys.exit(result.exit_code)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--arch", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Architecture (.json/.yaml) for a weights-only .h5.")
@click.option("--source-backend", type=click.Choice(SOURCE_BACKENDS), default=None,
              help="Backend that trained a legacy file's kernels [default: decided from the file].")
@click.option("--json", "as_json", is_flag=True, help="Print the inspection as JSON.")
def inspect(model: Path, arch: Path | None, source_backend: str | None, as_json: bool) -> None:
    """Describe MODEL and what converting it would do; converts nothing.

    Exit 0 when nothing stands in the way of a conversion, 3 when some layer does.
    """
    from converter.inspection import inspect as run_inspect
    from converter.load import LoadOptions

    with errors_as_exit_codes():
        found = run_inspect(model, LoadOptions(arch, source_backend))
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(found), indent=2, sort_keys=True))
    else:
        from converter.report.terminal import print_inspection

        print_inspection(found)
    sys.exit(0 if found.convertible else EXIT_MODEL_ERROR)


def quiet_libraries() -> None:
    """Silence TensorFlow's and tf2onnx's Python loggers; our report says what matters."""
    import logging

    for name in ("tensorflow", "absl", "tf2onnx", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


# The report and batch commands live in their own modules.
main.add_command(report)
main.add_command(batch)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main"]
