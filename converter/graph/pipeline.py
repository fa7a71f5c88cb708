"""Which graph passes a conversion runs, in order: one plan for `convert` and `inspect`.

1. normalisation (`normalize.DEFAULT_PASSES`), every pass recorded;
2. the option passes the options ask for (`--io-layout channels_last`, `--dynamic-length`,
   `--static-shape`),
   recorded: the graph parity checks is the graph after them;
3. the export passes (`export.graph_passes.EXPORT_PASSES`), recorded when they changed
   something: they shape the files, not the graph parity checks;
4. for TFLite, the TFLite-only passes (`unroll_recurrent` under `--unroll-recurrent N`),
   recorded when they changed something.
A SavedModel without Keras metadata has no layer graph: normalisation is skipped (and said).
"""

from __future__ import annotations

from dataclasses import dataclass

from converter.artifacts import ModelGraph, PassRecord
from converter.errors import UsageError
from converter.export.graph_passes import EXPORT_PASSES, unroll_recurrent
from converter.graph.passes import GraphPass, run_passes
from converter.load.signature import NO_METADATA, SIGNATURE_LAYER
from converter.normalize import DEFAULT_PASSES
from converter.normalize.dynamic_length import DynamicLength
from converter.normalize.io_layout import ChannelsLastIO
from converter.normalize.static_shape import StaticShape
from converter.options import ConvertOptions

SKIPPED = "normalization skipped"


@dataclass(frozen=True)
class Prepared:
    """The graphs a conversion works on, and the record of every pass that made them.

    `checked` is what parity runs (normalised, option passes applied); `targets` the graph
    each export target is built from (the same object where they do not differ).
    """

    checked: ModelGraph
    targets: dict[str, ModelGraph]
    records: tuple[PassRecord, ...]


def option_passes(options: ConvertOptions) -> list[GraphPass]:
    """The passes the options ask for, in order."""
    passes: list[GraphPass] = []
    if options.io_layout == "channels_last":
        passes.append(ChannelsLastIO())
    if options.dynamic_length:
        passes.append(DynamicLength())
    if options.static_shape:
        passes.append(StaticShape(options.static_batch, options.static_length))
    return passes


def normalized(graph: ModelGraph, signature_only: bool = False) -> tuple[ModelGraph,
                                                                        list[PassRecord]]:
    """The graph after normalisation, and its records (step 1)."""
    if signature_only:
        why = next((str(x.config.get("why") or NO_METADATA) for x in graph.layers
                    if x.class_name == SIGNATURE_LAYER), NO_METADATA)
        return graph, [PassRecord(SKIPPED, False, (
            f"{why}: exported from its serving_default signature as it is",))]
    return run_passes(graph, DEFAULT_PASSES)


def prepare(graph: ModelGraph, options: ConvertOptions, signature_only: bool = False) -> Prepared:
    """Run the plan over a loaded graph (see the module docstring)."""
    if signature_only and options.dynamic_length:
        raise UsageError("--dynamic-length needs the model's layers; a SavedModel without "
                         "Keras metadata is exported from its signature as it is: convert "
                         "without --dynamic-length")
    graph, records = normalized(graph, signature_only)
    graph, optional = run_passes(graph, option_passes(options))
    exported, shaping = run_passes(graph, EXPORT_PASSES, keep_unmodified=False)
    targets = {"onnx": exported} if "onnx" in options.to else {}
    tflite_only: list[PassRecord] = []
    if "tflite" in options.to:
        unroll = unroll_recurrent.UnrollStaticRecurrent(options.unroll_recurrent)
        targets["tflite"], tflite_only = run_passes(exported, (unroll,), keep_unmodified=False)
    return Prepared(graph, targets, (*records, *optional, *shaping, *tflite_only))
