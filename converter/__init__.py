"""converter: Keras Conv1D models to TFLite and ONNX, with parity proven on real runtimes.

The public surface is what `__all__` lists; heavy libraries load only when `convert` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from converter.artifacts import Artifact, ConvertResult, OutputComparison, ParityCheck
from converter.errors import ConverterError, InternalError
from converter.options import ConvertOptions

if TYPE_CHECKING:
    from converter.load.source import Source

__all__ = [
    "Artifact",
    "ConvertOptions",
    "ConvertResult",
    "ConverterError",
    "InternalError",
    "OutputComparison",
    "ParityCheck",
    "convert",
    "inspect",
    "verify",
]


def convert(source: Source | Any, options: ConvertOptions | None = None) -> ConvertResult:
    """See `converter.api.convert`."""
    from converter.api import convert as run

    return run(source, options)


def inspect(source: str | Any, arch: str | None = None) -> Any:
    """See `converter.inspection.inspect`: describe a model file without converting it."""
    from pathlib import Path

    from converter.inspection import inspect as run
    from converter.load import LoadOptions

    return run(Path(source), LoadOptions(Path(arch) if arch else None))


def verify(
    source: Source | Any, artifacts: list[str | Any], options: ConvertOptions | None = None,
    report: str | None = None,
) -> ConvertResult:
    """See `converter.api.verify_files`: parity of existing .tflite/.onnx files."""
    from pathlib import Path

    from converter.api import verify_files

    return verify_files(source, [Path(a) for a in artifacts], options,
                        Path(report) if report else None)
