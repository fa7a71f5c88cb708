"""`converter inspect`: what a model file is and what converting it would do, without converting.

It reads the file (h5py / zip / JSON only, no TensorFlow for .keras and .h5 files), runs the
graph passes a conversion runs (`graph.pipeline`: the report's `passes` are these records),
and lists every layer whose class the layer catalogue does not know, with its remedy.
SavedModel directories need TensorFlow to read their metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.artifacts import ModelGraph
from converter.errors import ConverterError
from converter.layers import CATALOGUE
from converter.load import LoadOptions, load_path
from converter.load.signature import SIGNATURE_LAYER
from converter.options import ConvertOptions
from converter.process.stderr_capture import captured_stderr
from converter.report.schema import jsonable


@dataclass(frozen=True)
class Inspection:
    """What `inspect` found: the source, its layers, the passes' changes, the problems."""

    source: dict[str, Any]
    reference: str
    layers: tuple[dict[str, Any], ...]
    passes: tuple[dict[str, Any], ...]
    unsupported: tuple[dict[str, str], ...]
    training_mode: tuple[dict[str, Any], ...] = ()
    expansions: tuple[dict[str, str], ...] = ()

    @property
    def convertible(self) -> bool:
        """True when nothing stands in the way of a conversion attempt."""
        return not self.unsupported


def layer_rows(graph: ModelGraph) -> tuple[dict[str, Any], ...]:
    """One row per layer: name, class, weight shapes, how many times it is called, inputs."""
    return tuple(
        {"name": x.name, "class_name": x.class_name, "calls": len(x.calls),
         "weights": [list(w.shape) for w in x.weights],
         "inputs": sorted({r.layer for c in x.calls for r in c.inputs})}
        for x in graph.layers
    )


def unsupported_layers(graph: ModelGraph) -> list[dict[str, str]]:
    """Layers whose class the catalogue does not know (`converter.layers`)."""
    known = set(CATALOGUE) | {SIGNATURE_LAYER}
    return [
        {"layer": x.name, "class_name": x.class_name,
         "remedy": "a custom class: pass it with --custom-objects module:Class if you trust "
                   "its code, or rewrite the layer with built-in Keras layers"}
        for x in graph.layers if x.class_name not in known
    ]


def inspect(path: Path, options: LoadOptions | None = None,
            convert_options: ConvertOptions | None = None) -> Inspection:
    """Describe a model file and dry-run the graph passes a conversion would run.

    The passes are those a conversion with `convert_options` (default: a default one) runs
    and records in its report.
    """
    from converter.graph.pipeline import prepare
    from converter.normalize.call_arguments import training_calls

    with captured_stderr():  # TensorFlow's start-up lines (a SavedModel loads here)
        loaded = load_path(path, options)
    try:
        prepared = prepare(loaded.graph, convert_options or ConvertOptions(),
                           loaded.reference_loader == "tf_saved_model")
        passes = tuple({"name": r.name, "modified": r.modified, "changes": list(r.changes)}
                       for r in prepared.records)
        unsupported = unsupported_layers(prepared.checked)
    except ConverterError as exc:
        passes = ({"name": "normalize", "modified": False, "error": exc.message},)
        unsupported = [{"layer": "-", "class_name": "-", "remedy": exc.message}]
    training = tuple({**jsonable(c), "stochastic": c.stochastic}
                     for c in training_calls(loaded.graph))
    return Inspection(jsonable(loaded.provenance), loaded.reference_loader,
                      layer_rows(loaded.graph), passes, tuple(unsupported), training,
                      expansion_rows())


def expansion_rows() -> tuple[dict[str, str], ...]:
    """Every installed expansion (`converter.extensions`), and each broken entry point."""
    from converter.extensions import installed

    found = installed()
    return tuple({"class_name": name, "library": expansion.library,
                  "source": found.sources[name]} for name, expansion in found.by_class.items()
                 ) + tuple({"class_name": "-", "library": "-", "source": f"broken: {why}"}
                           for why in found.broken)
