"""A SavedModel directory read in the warm TensorFlow server (a `process.worker` task).

Reading one needs TensorFlow (its protobufs, tf.keras for the checkpoint, the signature),
which a conversion imports once, in its "tensorflow" server: reading it in the converting
process would import it a second time there (seconds per model). The child reads the
directory and hands the graph back as JSON plus an .npz of weights, as the HDF5 reader's
forked child does; its errors are the parent's to raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from converter.artifacts import LoadedModel, Provenance
from converter.graph.serialize import load_graph, save_graph
from converter.load.isolated import refusal
from converter.process.worker import run_task

if TYPE_CHECKING:
    from converter.load import LoadOptions

READER = "TensorFlow's SavedModel reader"


def load_served(path: Path, options: LoadOptions, workdir: Path) -> LoadedModel:
    """The SavedModel at `path`, read by a child of the TensorFlow server."""
    request = {"path": str(path), "arch": str(options.arch) if options.arch else None,
               "source_backend": options.source_backend, "allow_lambda": options.allow_lambda,
               "custom_objects": list(options.custom_specs), "timeout_s": options.timeout_s}
    outcome = run_task("converter.load.savedmodel_task", request, workdir, options.timeout_s,
                       server="tensorflow")
    if outcome.status != "ok":
        raise refusal(outcome, path, options.timeout_s, READER)
    return LoadedModel(load_graph(workdir / "graph.json"),
                       Provenance(**outcome.answer["provenance"]), outcome.answer["loader"])


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Read the directory (its classes checked, its sizes plausible); write the graph."""
    from converter.load import LoadOptions, read_checked
    from converter.load.custom_objects import resolve_custom_objects

    specs = tuple(request["custom_objects"])
    options = LoadOptions(Path(request["arch"]) if request["arch"] else None,
                          request["source_backend"], request["allow_lambda"],
                          resolve_custom_objects(specs), request["timeout_s"], specs)
    loaded = read_checked(Path(request["path"]), options)
    save_graph(loaded.graph, workdir / "graph.json")
    return {"provenance": asdict(loaded.provenance), "loader": loaded.reference_loader}
