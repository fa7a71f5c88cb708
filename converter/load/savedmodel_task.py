"""A SavedModel directory read in the warm TensorFlow server (a `process.worker` task).

Reading one needs TensorFlow (its protobufs, tf.keras for the checkpoint, the signature),
which a conversion imports once, in its "tensorflow" server: reading it in the converting
process would import it a second time there (seconds per model). The child reads the
directory and hands the graph back as JSON plus an .npz of weights, as the HDF5 reader's
forked child does; its errors are the parent's to raise (`converter.load.load_served`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from converter.load.isolated import handed_over


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Read the directory (its classes checked, its sizes plausible); write the graph."""
    from converter.load import LoadOptions, read_checked
    from converter.load.custom_objects import resolve_custom_objects

    specs = tuple(request["custom_objects"])
    options = LoadOptions(Path(request["arch"]) if request["arch"] else None,
                          request["source_backend"], request["allow_lambda"],
                          resolve_custom_objects(specs), request["timeout_s"], specs)
    return handed_over(read_checked(Path(request["path"]), options), workdir)
