"""Save and load a ModelGraph as JSON plus an .npz of weights (for worker processes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

from converter.artifacts import Layer, LayerCall, ModelGraph, TensorRef

# ModelGraph fields beyond the layers, carried as they are.
FACTS = ("kernel_convention", "source_keras", "input_note", "fixed_batch",
         "input_permutations", "output_permutations")


def ref_list(ref: TensorRef) -> list[Any]:
    """A TensorRef as a JSON triple."""
    return [ref.layer, ref.call_index, ref.tensor_index]


def save_graph(graph: ModelGraph, path: Path) -> Path:
    """Write `path` (JSON) and `path`.npz; return `path`."""
    layers = [
        {"name": x.name, "class_name": x.class_name, "config": x.config,
         "calls": [{"inputs": [ref_list(r) for r in c.inputs], "list_input": c.list_input,
                    "kwargs": c.kwargs} for c in x.calls]}
        for x in graph.layers
    ]
    document = {"name": graph.name, "layers": layers,
                "weight_names": [list(x.weight_names) for x in graph.layers],
                "inputs": [ref_list(r) for r in graph.inputs],
                "outputs": [ref_list(r) for r in graph.outputs],
                "facts": {k: getattr(graph, k) for k in FACTS}}
    path.write_text(json.dumps(document, default=list))
    save_arrays(Path(f"{path}.npz"), {f"{i}/{j}": w for i, x in enumerate(graph.layers)
                                      for j, w in enumerate(x.weights)})
    return path


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to an .npz (no pickle), e.g. "<case>/<input>" keys."""
    np.savez(path, **cast(dict[str, Any], arrays))


def load_graph(path: Path) -> ModelGraph:
    """Read a graph written by `save_graph`."""
    document = json.loads(Path(path).read_text())
    with np.load(f"{path}.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    layers = []
    for i, entry in enumerate(document["layers"]):
        count = sum(1 for key in arrays if key.split("/")[0] == str(i))
        calls = tuple(
            LayerCall(tuple(TensorRef(*r) for r in c["inputs"]), c["list_input"], c["kwargs"])
            for c in entry["calls"]
        )
        names = document.get("weight_names", [[]] * len(document["layers"]))[i]
        layers.append(Layer(entry["name"], entry["class_name"], entry["config"], calls,
                            tuple(arrays[f"{i}/{j}"] for j in range(count)), tuple(names)))
    facts = document.get("facts", {})
    for key in ("input_permutations", "output_permutations"):
        if key in facts:
            facts[key] = tuple(None if p is None else tuple(p) for p in facts[key])
    return ModelGraph(tuple(layers), tuple(TensorRef(*r) for r in document["inputs"]),
                      tuple(TensorRef(*r) for r in document["outputs"]), document["name"],
                      **facts)
