"""Session-scoped conversions: every supported sample is converted once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.artifacts import ConvertResult
from converter.options import ConvertOptions
from sample_models.catalogue import supported
from tests.conftest import sample

SUPPORTED_FILES = sorted(f"{s.name}.{ext}" for s in supported() for ext in ("keras", "h5"))


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ConvertResult, Path]]:
    """{sample file: (result, output dir)} for every supported sample, .keras and .h5.

    The whole default matrix runs: the NumPy reference, the rebuilt graph and the mobile GPU
    path (skipped without Vulkan) included.
    """
    from converter import convert

    results = {}
    for name in SUPPORTED_FILES:
        out = tmp_path_factory.mktemp(name.replace(".", "_"))
        options = ConvertOptions(output_dir=out)
        results[name] = (convert(sample(name), options), out)
    return results
