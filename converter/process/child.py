"""A worker process: `python -m converter.process.child MODULE REQUEST.json`.

Runs `MODULE.run(request, workdir)` (a module of converter's) and writes what happened to
`REQUEST.json.answer.json` for `worker.run_task` to classify. The module's name stays on the
command line, so a process is recognisable by the work it does.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converter.process.worker import write_answer


def main(module_name: str, request_path: Path) -> int:
    """Answer one request; the exit status is 0 whenever an answer was written."""
    if not module_name.startswith("converter."):
        print(f"not a converter task module: {module_name}", file=sys.stderr)
        return 2
    document = json.loads(request_path.read_text())

    def task() -> Mapping[str, Any]:
        module = importlib.import_module(module_name)
        result: Mapping[str, Any] = module.run(document["request"], Path(document["workdir"]))
        return result

    write_answer(Path(f"{request_path}.answer.json"), task)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
