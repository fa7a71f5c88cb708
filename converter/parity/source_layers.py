"""Where the normalised graph departs from the original model, layer by layer.

A file is localised against the normalised graph (`localize`); when the graph itself
computes other numbers than the original (a normalisation that changed the model), that
comparison points at the wrong place. Here the original's own library gives every layer's
output (a worker task: it imports Keras), and the NumPy reference of the graph is compared
with it by layer name, in graph order: the first layer outside the tolerance is where the
graph departs from the original.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import ModelGraph, ParityCheck, Tolerance
from converter.options import ConvertOptions

Case = Mapping[str, np.ndarray]


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Worker task: every single-output layer's output of the original on one case."""
    from converter.errors import NotApplicable
    from converter.graph.serialize import save_arrays
    from converter.load.custom_objects import resolve_custom_objects
    from converter.parity.runtimes.keras_source import source_model

    if request["loader"] not in ("keras", "tf_keras"):
        raise NotApplicable("the original is no Keras model whose layers can be read")
    model = source_model(request["target"], request["loader"],
                         resolve_custom_objects(request.get("custom_objects", [])),
                         request.get("allow_lambda", False))
    module = __import__(request["loader"])
    named = {}
    for layer in model.layers:
        try:
            named[layer.name] = layer.output
        except (AttributeError, ValueError, RuntimeError):  # called more than once: no one output
            continue
    named = {k: v for k, v in named.items() if not isinstance(v, (list, tuple))}
    probe = module.Model(model.inputs, list(named.values()))
    with np.load(request["inputs"], allow_pickle=False) as data:
        feeds = [data[name] for name in request["input_names"]]
    values = probe(feeds if len(feeds) > 1 else feeds[0], training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    save_arrays(Path(request["outputs"]), {name: np.asarray(v) for name, v in zip(
        named, values, strict=True)})
    return {}


def first_departure(graph: ModelGraph, source: Mapping[str, np.ndarray],
                    feeds: list[np.ndarray], tolerance: Tolerance) -> dict[str, Any]:
    """The first graph layer whose NumPy output differs from the original's, or a note."""
    from converter.parity.localize import aligned, distance
    from converter.reference import layer_outputs

    computed = layer_outputs(graph, feeds)
    compared = 0
    for layer in graph.layers:
        if layer.class_name == "InputLayer" or layer.name not in source or (
                layer.name not in computed):
            continue
        want = np.asarray(source[layer.name], np.float64)
        got = aligned(computed[layer.name], want)
        if got is None:
            continue
        compared += 1
        atol = tolerance.atol * max(1.0, float(np.abs(want).max(initial=0.0)))
        if not np.all(np.abs(got - want) <= atol + tolerance.rtol * np.abs(want)):
            return {"layer": layer.name, "class_name": layer.class_name,
                    "max_abs": distance(got, want), "layers_compared": compared,
                    "between": "the original model and the normalised graph"}
    return {"layer": None, "layers_compared": compared,
            "note": f"the normalised graph agrees with the original at each of the {compared} "
                    "layers both have"}


def source_departure(graph: ModelGraph, loader: str, source: Path,
                     cases: tuple[Case, Case], options: ConvertOptions) -> dict[str, Any]:
    """Where the graph departs from the original on one case, as a localisation record.

    A note where the original's layers cannot be read. `cases`: the case in the original's
    layout and in the graph's.
    """
    from converter.graph.serialize import save_arrays
    from converter.parity.tolerances import tolerance_for
    from converter.process.worker import run_task

    with tempfile.TemporaryDirectory(prefix="converter-layers-") as tmp:
        inputs, outputs = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        save_arrays(inputs, dict(cases[0]))
        outcome = run_task("converter.parity.source_layers", {
            "target": str(source), "loader": loader, "inputs": str(inputs),
            "outputs": str(outputs), "input_names": list(cases[0]),
            "custom_objects": list(options.custom_objects),
            "allow_lambda": options.allow_lambda}, Path(tmp), options.timeout_s,
            server="tensorflow")
        if outcome.status != "ok":
            return {"layer": None, "note": "the original's layer outputs could not be read ("
                                           f"{outcome.reason or outcome.status})"}
        with np.load(outputs, allow_pickle=False) as data:
            found = {key: data[key] for key in data.files}
    try:
        return first_departure(graph, found, list(cases[1].values()),
                               tolerance_for("numpy", "graph"))
    except Exception as exc:  # evidence beside the verdict: its failure must not hide it
        return {"layer": None, "note": f"the original's layers could not be compared: "
                                       f"{type(exc).__name__}: {exc}"[:300]}


def with_departure(checks: tuple[ParityCheck, ...], artifact: str,
                   departure: Mapping[str, Any]) -> tuple[ParityCheck, ...]:
    """The failed checks localised against the original.

    Those of the graph pseudo-artifact, and those of files whose outputs agree with the graph
    (`localize.unexplained`).
    """
    said = (f"the normalised graph departs from the original at {departure['layer']} "
            f"({departure['class_name']}), max abs {departure['max_abs']:.3g}"
            if departure.get("layer") else str(departure.get("note", "")))
    out = []
    for check in checks:
        if check.status == "failed" and check.artifact == artifact:
            check = replace(check, reason=f"{check.reason}; {said}",
                            localization=dict(departure))
        elif check.status == "failed" and "candidate" in (check.localization or {}):
            check = replace(check, reason=f"{check.reason}; {said}", localization={
                **(check.localization or {}), "source": dict(departure)})
        out.append(check)
    return tuple(out)
