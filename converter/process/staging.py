"""Write outputs beside their destination, publish them only when everything succeeded.

Files are written into a hidden staging directory next to OUTDIR (same filesystem, so the
final `os.replace` of each file is atomic); a failure removes the staging directory and
leaves OUTDIR exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from converter.errors import UsageError

# Staging directories of this process, removed by whoever must end it early (watchdog.py).
ACTIVE: set[Path] = set()


@contextmanager
def staging(output_dir: Path, inputs: Collection[Path | None] = ()) -> Iterator[Path]:
    """Yield a staging directory; on normal exit move its files into `output_dir`.

    A file that would land on one of `inputs` (the model, --arch, --inputs, --calibration)
    is a usage error before anything moves: converter never overwrites what it reads.
    """
    output_dir = output_dir.absolute()
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"-o {output_dir}: exists and is not a directory")
    parent = output_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.staging-", dir=parent))
    except OSError as exc:
        raise UsageError(f"-o {output_dir}: cannot write there ({exc.strerror or exc})") from exc
    ACTIVE.add(stage)
    try:
        yield stage
        protected = {Path(p).resolve() for p in inputs if p is not None}
        clash = [item.name for item in stage.iterdir()
                 if (output_dir / item.name).resolve() in protected]
        if clash:
            raise UsageError(f"-o {output_dir}: writing {clash[0]} there would overwrite an "
                             "input of this conversion; choose another output directory")
        output_dir.mkdir(exist_ok=True)
        for item in sorted(stage.iterdir()):
            os.replace(item, output_dir / item.name)
    finally:
        ACTIVE.discard(stage)
        shutil.rmtree(stage, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary name beside `path`, then rename: no half-written file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write there ({exc.strerror or exc})") from exc
