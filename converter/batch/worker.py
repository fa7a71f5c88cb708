"""One batch model, converted in a process of its own (a `process.worker` task).

The request is the model's source and options as JSON; the answer is its batch entry. A
crash of this process (a native library's segfault) is reported by the parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converter.errors import ConverterError, InternalError
from converter.options import ConvertOptions
from converter.process.worker import exception_record


def convert_entry(source: Path, options: ConvertOptions) -> dict[str, Any]:
    """Convert one model; its exit code, verdict, report, or the error that stopped it."""
    from converter.api import convert
    from converter.process.watchdog import Watchdog
    from converter.report.progress import Silent

    try:
        result = convert(source, options, Watchdog(Silent(), options.timeout_s))
    except ConverterError as exc:
        return {"exit_code": exc.exit_code, "passed": False, "error": exc.message,
                "report": None}
    except InternalError as exc:
        return {"exit_code": exc.exit_code, "passed": False, "error": str(exc), "report": None}
    except Exception as exc:  # noqa: BLE001 - one model's bug must not stop the batch
        record = exception_record(exc)
        bug = InternalError(str(record["reason"]), str(record["where"]))
        return {"exit_code": bug.exit_code, "passed": False, "error": str(bug), "report": None}
    return {"exit_code": result.exit_code, "passed": result.passed, "error": "",
            "report": result.report}


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """The batch entry of one model."""
    return convert_entry(Path(request["source"]), ConvertOptions(**request["options"]))
