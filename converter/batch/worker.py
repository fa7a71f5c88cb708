"""One batch model, converted in its own interpreter: `python -m converter.batch.worker REQ OUT`.

The request is the model's source and options as JSON; the answer is its batch entry as
JSON. A crash of this process (a native library's segfault) is reported by the parent.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from converter.errors import EXIT_MODEL_ERROR, ConverterError
from converter.options import ConvertOptions


def convert_entry(source: Path, options: ConvertOptions) -> dict[str, Any]:
    """Convert one model; its exit code, verdict, report, or the error that stopped it."""
    from converter.api import convert
    from converter.report.progress import Silent
    from converter.watchdog import Watchdog

    try:
        result = convert(source, options, Watchdog(Silent(), options.timeout_s))
    except ConverterError as exc:
        return {"exit_code": exc.exit_code, "passed": False, "error": exc.message,
                "report": None}
    except Exception as exc:  # noqa: BLE001 - one model's bug must not stop the batch
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"exit_code": EXIT_MODEL_ERROR, "passed": False, "report": None,
                "error": f"internal error in converter ({type(exc).__name__}: {exc} at "
                         f"{Path(where.filename).name}:{where.lineno}); please report it"}
    return {"exit_code": result.exit_code, "passed": result.passed, "error": "",
            "report": result.report}


def main(request: Path, answer: Path) -> int:
    """Read the request, convert, write the entry."""
    asked = json.loads(request.read_text())
    options = ConvertOptions(**asked["options"])
    entry = convert_entry(Path(asked["source"]), options)
    answer.write_text(json.dumps(entry, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
