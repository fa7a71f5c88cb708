"""Read HDF5 and .keras files in a forked child: a reader that hangs or crashes is a refusal.

h5py holds the interpreter lock inside HDF5's C code, so a damaged file that sends HDF5
into a loop (the fuzzer found one in 3,000) cannot be interrupted from any Python thread,
and one that crashes it would take the whole run down. The child (`process.worker`'s forked
task) reads the file and hands the graph back as JSON plus an .npz of weights (no pickle);
a silent or dead child is a LoadError (exit 3), a bug in converter's reader an InternalError.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from converter.artifacts import LoadedModel, Provenance
from converter.errors import InternalError, LoadError
from converter.graph.serialize import load_graph, save_graph
from converter.process.worker import Outcome, run_forked


def load_in_child(read: Callable[[], LoadedModel], path: Path, timeout_s: float) -> LoadedModel:
    """`read()` in a forked child, its result handed back; LoadError if it hangs or dies."""
    if not hasattr(os, "fork"):  # pragma: no cover - not Linux or macOS
        return read()
    with tempfile.TemporaryDirectory(prefix="converter-load-") as tmp:
        folder = Path(tmp)

        outcome = run_forked(lambda: handed_over(read(), folder), timeout_s)
        if outcome.status != "ok":
            raise refusal(outcome, path, timeout_s)
        return taken_back(outcome.answer, folder)


def handed_over(loaded: LoadedModel, folder: Path) -> dict[str, Any]:
    """In a reading process: the graph written to `folder`, the rest as its JSON answer."""
    save_graph(loaded.graph, folder / "graph.json")
    return {"provenance": asdict(loaded.provenance), "loader": loaded.reference_loader}


def taken_back(answer: Mapping[str, Any], folder: Path) -> LoadedModel:
    """In the parent: the LoadedModel a reading process handed over (`handed_over`)."""
    return LoadedModel(load_graph(folder / "graph.json"), Provenance(**answer["provenance"]),
                       answer["loader"])


def refusal(outcome: Outcome, path: Path, timeout_s: float,
            reader: str = "the HDF5 reader") -> Exception:
    """What a reading child that did not answer means."""
    if outcome.error is not None:
        return outcome.error
    if outcome.status == "timeout":
        return LoadError(f"{path}: reading it took longer than {timeout_s:g} s (--timeout); "
                         f"{reader} stalled on it: the file is damaged")
    if outcome.status == "crashed":
        name = outcome.reason.removeprefix("crashed: ")
        return LoadError(f"{path}: {reader} crashed on it ({name}); the file is damaged")
    if outcome.bug:
        return InternalError(f"reading {path} raised {outcome.reason}", outcome.where)
    return LoadError(f"{path}: cannot be read as a Keras model ({outcome.reason}, in "
                     f"{outcome.where}); the file is damaged or not what its format promises")
