"""Every check held to its planted defects: those the default left unmeasured (the copies
cost more than the check) are measured again with --power full."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def measured_power(source: Path, out: Path, checks: Sequence[dict[str, Any]],
                   arch: Path | None = None) -> list[dict[str, Any]]:
    """Each powered check's `power`, measured with --power full where the default did not.

    `checks`: report.json parity entries with a `power` record; `out`: the files' folder.
    """
    from converter import ConvertOptions, verify

    unmeasured = [c for c in checks if not c["power"]["planted"]]
    assert all(c["power"]["note"].endswith("--power full measures it") for c in unmeasured)
    if not unmeasured:
        return [dict(c["power"]) for c in checks]
    options = ConvertOptions(runtimes=tuple(dict.fromkeys(c["runtime"] for c in unmeasured)),
                             power="full", arch=arch)
    files = [out / name for name in dict.fromkeys(c["artifact"] for c in unmeasured)]
    result = verify(source, files, options)
    assert all(c.status == "passed" for c in result.parity), result.parity
    again = {(c.runtime, Path(c.artifact).name): dict(c.power or {}) for c in result.parity}
    return [again[(c["runtime"], c["artifact"])] if not c["power"]["planted"]
            else dict(c["power"]) for c in checks]
