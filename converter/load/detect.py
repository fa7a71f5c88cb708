"""Decide what kind of source a path is, before any library tries to read it.

Sniffing magic bytes first means a text file named `.h5` or a directory of photos gets one
clear line saying what was expected and what was found, instead of an h5py traceback.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from converter.errors import LoadError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
EXPECTED = "a Keras model: a .keras file, a .h5/.hdf5 file or a SavedModel directory"


def describe_bytes(head: bytes) -> str:
    """Say in a few words what some leading bytes look like, for error messages."""
    if not head:
        return "an empty file"
    if head.startswith(ZIP_MAGIC):
        return "a zip archive"
    if head.startswith(HDF5_MAGIC):
        return "an HDF5 file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary data starting with {head[:8].hex()}"
    return f"text starting with {text.strip()[:30]!r}"


def detect_format(path: Path) -> str:
    """"keras-zip", "hdf5" or "savedmodel" for a readable source; LoadError otherwise."""
    if not os.path.lexists(path):
        raise LoadError(f"{path}: no such file; expected {EXPECTED}")
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir())[:5]
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise LoadError(
            f"{path}: is a directory (containing {found or 'nothing'}), not a model; "
            f"expected {EXPECTED}"
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        reason = exc.strerror or exc
        raise LoadError(f"{path}: cannot be read ({reason}); expected {EXPECTED}") from exc
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC):
        return "keras-zip"
    raise LoadError(f"{path}: found {describe_bytes(head)}; expected {EXPECTED}")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def directory_sha256(path: Path, pattern: str = "*") -> str:
    """A hash over a directory's files matching `pattern`: names and contents, in name order.

    A SavedModel's source hash; converter's own source for the batch cache.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob(pattern) if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file_sha256(file).encode())
    return digest.hexdigest()
