"""Session-scoped conversions: every supported sample is converted once per test session."""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from converter.artifacts import ConvertResult
from converter.options import ConvertOptions
from sample_models.catalogue import supported
from tests.conftest import sample

T = TypeVar("T")
SUPPORTED_FILES = sorted(f"{s.name}.{ext}" for s in supported() for ext in ("keras", "h5"))


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ConvertResult, Path]]:
    """{sample file: (result, output dir)} for every supported sample, .keras and .h5.

    The whole default matrix runs: the NumPy reference, the rebuilt graph and the mobile GPU
    path (skipped without Vulkan) included. Once per run: pytest-xdist workers share it.
    """
    return once_per_run(tmp_path_factory, "converted", convert_samples)


def convert_samples(root: Path) -> dict[str, tuple[ConvertResult, Path]]:
    from converter import convert

    results = {}
    for name in SUPPORTED_FILES:
        out = root / name.replace(".", "_")
        results[name] = (convert(sample(name), ConvertOptions(output_dir=out)), out)
    return results


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str,
                 compute: Callable[[Path], T]) -> T:
    """`compute(folder)` once per test run, however many pytest-xdist workers ask for it.

    The first computes it under a file lock in the run's temporary root (shared by the
    workers of this run, and by no other run) and pickles it there; the others wait for the
    lock and read it.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = root / f"{name}.pickle"
        if stored.exists():
            value: T = pickle.loads(stored.read_bytes())
            return value
        value = compute(root / name)
        stored.write_bytes(pickle.dumps(value))
        return value
