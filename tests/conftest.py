"""Shared fixtures. Unit tests use only h5py/numpy; TensorFlow tests are marked `tf`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from converter.artifacts import LoadedModel
from converter.load import load_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models" / "files"
REAL_MODELS = ROOT.parent / "shared" / "real_models"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first: corpus sweeps (`slow`), then TensorFlow modules, most
    tests first, then the unit modules.

    Under pytest-xdist (scripts/test.sh: `--dist loadscope --no-loadscope-reorder`, a
    module's tests on one worker in this order, so its module-scoped fixtures run once) a
    long module started last would run alone while the other workers wait.
    """
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)

    def cost(module: str) -> tuple[int, int]:
        tests = modules[module]
        kind = 0 if any(t.get_closest_marker("slow") for t in tests) else 1 if any(
            t.get_closest_marker("tf") for t in tests) else 2
        return kind, -len(tests)

    items[:] = [item for module in sorted(modules, key=cost) for item in modules[module]]


@pytest.fixture(scope="session", autouse=True)
def task_servers(request: pytest.FixtureRequest) -> Iterator[None]:
    """The warm task servers for a session that converts (it has `tf` tests).

    Every conversion's workers fork from them, as a batch's do: in-process conversions
    share them, and the CLI's subprocesses join them through CONVERTER_SERVERS (a batch's
    conversion processes fork from its "conversion" server). A unit-only session starts none.
    """
    from converter.process.pool import BATCH_KINDS, warm_servers

    if not any(item.get_closest_marker("tf") for item in request.session.items):
        yield
        return
    with warm_servers(BATCH_KINDS, share=True):
        yield


@pytest.fixture
def no_task_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests of the fresh-interpreter path, or of servers of their own: the session's
    servers are out of reach (run_task finds none warm)."""
    import converter.process.pool as pool

    monkeypatch.setattr(pool, "_active", {})
    monkeypatch.delenv("CONVERTER_SERVERS", raising=False)


def living_processes() -> dict[int, tuple[int, str]]:
    """Every living (not zombie) process: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fields[0] != "Z":
                found[int(entry.name)] = (int(fields[1]), line)
    return found


def gpu_here() -> bool:
    """Whether LiteRT's GPU accelerator can run here (a Vulkan driver is installed): the
    default matrix's litert-gpu checks then run, and are `skipped` where it cannot."""
    from converter.parity.runtimes.litert_gpu import vulkan_missing

    return not vulkan_missing()


def sample(name: str) -> Path:
    """Path of a bundled sample file."""
    return SAMPLES / name


@pytest.fixture(scope="session")
def load_sample() -> object:
    """Load a sample file once per session (loading needs no TensorFlow)."""
    cache: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in cache:
            cache[name] = load_path(sample(name))
        return cache[name]

    return get
