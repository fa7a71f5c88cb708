"""The fuzz harness's worker: `python -m tests.hardening.probe`, one case per stdin line.

For each {"path", "arch"} line it does what `converter inspect` does (read, check, normalise)
and answers one JSON line: "refused" (a ConverterError: its exit code and message),
"accepted", or "traceback" (any other exception: a bug the CLI would show as a traceback).
A case that outlives the stage limit ends the process with status 3, as `converter` would.
The last line it writes on EOF gives its peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import traceback
from pathlib import Path

from converter.errors import ConverterError
from converter.inspection import inspect
from converter.load import LoadOptions
from converter.process.watchdog import Watchdog
from converter.report.progress import Silent


def answer(line: str, watchdog: Watchdog) -> dict[str, object]:
    """Inspect one case under the CLI's stage time limit (which ends this process)."""
    case = json.loads(line)
    arch = Path(case["arch"]) if case.get("arch") else None
    try:
        watchdog.begin("load")
        try:
            found = inspect(Path(case["path"]), LoadOptions(arch, timeout_s=watchdog.seconds / 1.2))
        finally:
            watchdog.end("load")
    except ConverterError as exc:
        return {"outcome": "refused", "exit": exc.exit_code, "message": exc.message}
    except Exception:  # noqa: BLE001 - exactly what the harness is looking for
        return {"outcome": "traceback", "exit": 1, "message": traceback.format_exc()[-2000:]}
    return {"outcome": "accepted", "exit": 0 if found.convertible else 3,
            "message": "; ".join(p["remedy"] for p in found.unsupported)[:500]}


def main() -> int:
    """Answer every line, then report peak resident memory in MiB."""
    # Reading gets the stage limit (as `converter --timeout` gives it); the watchdog, a little
    # more, is the backstop for any other stage that would outlive it.
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    watchdog = Watchdog(Silent(), limit * 1.2)
    for line in sys.stdin:
        print(json.dumps(answer(line, watchdog)), flush=True)
    print(json.dumps({"peak_mib": round(peak_mib(), 1)}), flush=True)
    return 0


def peak_mib() -> float:
    """This process's own peak resident memory (VmHWM, MiB).

    Not getrusage's ru_maxrss: Linux carries that across exec, so a probe started by a big
    process (a test worker that had loaded TensorFlow: 1,117 MiB) reported its parent's.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
