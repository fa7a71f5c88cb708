"""ONNX graph passes written with onnx-ir, run on every file tf2onnx writes.

REWRITES and CLEAN_UP are the order, and the documentation, of the stage: each pass is one
file (or one onnx-ir pass) whose `run(model) -> int` rewrites in place and counts what it
changed, wrapped as a `graph.passes.Pass` over the onnx-ir Model (`OnnxPass`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import onnx_ir as ir
import onnx_ir.passes.common as common_passes

from converter.export.onnx_graph import (
    affine_batchnorm,
    conv_layouts,
    default_states,
    dilated_rows,
    flatten_transpose,
    fold_bias,
    fold_pad,
    kept_transposes,
    known_sizes,
    layout_assign,
    layout_chains,
    native_1d,
    stable_names,
)
from converter.graph.passes import PassResult


def remove_unused(model: ir.Model) -> int:
    """onnx-ir's dead-code pass: nodes and initializers the rewrites left unread."""
    before = len(model.graph) + len(model.graph.initializers)
    common_passes.RemoveUnusedNodesPass()(model)
    return before - len(model.graph) - len(model.graph.initializers)


def merge_duplicates(model: ir.Model) -> int:
    """onnx-ir's deduplication passes: one initializer and one node where tf2onnx wrote equal ones.

    tf2onnx transposes a tensor read by several branches once per branch (kim_cnn's three
    convolutions); one Transpose does. The graph is put in its canonical order first, so the
    survivor of equal things (and its name) is the same in every run.
    """
    before = len(model.graph) + len(model.graph.initializers)
    stable_names.canonical_order(model.graph)
    common_passes.DeduplicateInitializersPass()(model)
    common_passes.CommonSubexpressionEliminationPass()(model)
    return before - len(model.graph) - len(model.graph.initializers)


@dataclass(frozen=True)
class OnnxPass:
    """One ONNX pass under the pass contract: `run` rewrites the model in place and counts.

    `summary` says what one change is ("{n} ..."), the record's one line.
    """

    name: str
    run: Callable[[ir.Model], int]
    summary: str

    def __call__(self, graph: ir.Model) -> PassResult[ir.Model]:
        """Run the rewrite; modified when it changed anything."""
        count = self.run(graph)
        return PassResult(graph, count > 0, (self.summary.format(n=count),) if count else (),
                          count)


# The rewrites run until none changes anything (shapes inferred afresh each round: a value
# a rewrite created has none until then); the clean-up passes run once after them, the
# dynamic-length conv layouts first: they plan the whole graph at once.
REWRITES = (
    OnnxPass("native_1d", native_1d.run, "{n} height-1 4-D op(s) made native 1-D"),
    OnnxPass("layout_chains", layout_chains.run, "{n} layout node(s) collapsed"),
    OnnxPass("layout_assign", layout_assign.run,
             "{n} Transpose(s) saved by laying out the ops between them anew"),
    OnnxPass("fold_pad", fold_pad.run, "{n} Pad(s) folded into Conv pads"),
    OnnxPass("fold_bias", fold_bias.run, "{n} bias Add(s) folded into Convs"),
    OnnxPass("affine_batchnorm", affine_batchnorm.run,
             "{n} per-channel Mul+Add pair(s) merged into BatchNormalization"),
    OnnxPass("flatten_transpose", flatten_transpose.run,
             "{n} Transpose(s) before Flatten absorbed into the weights"),
    OnnxPass("dilated_rows", dilated_rows.run, "{n} dilated Conv(s) convolving rows"),
    OnnxPass("default_states", default_states.run,
             "{n} zero initial state(s) left to the recurrent op's default"),
    OnnxPass("known_sizes", known_sizes.run,
             "{n} Reshape target(s) computed at run time from known sizes made constant"),
)
CLEAN_UP = (
    OnnxPass("conv_layouts", conv_layouts.run, "{n} Conv(s) lowered to Conv2Ds"),
    OnnxPass("remove_unused", remove_unused, "{n} unread node(s) and initializer(s) removed"),
    OnnxPass("merge_duplicates", merge_duplicates, "{n} duplicate(s) merged"),
    OnnxPass("stable_names", stable_names.run, "{n} value(s) renamed"),
)
MAX_ROUNDS = 4

# What a pass that chose a lowering for onnxruntime did, for the report: where a lowering is
# faster on onnxruntime than the native form, the file says which one it uses.
LOWERINGS = {
    "dilated_rows": "{n} dilated Conv(s) at a static length convolve rows of their dilation "
                    "as (k, 1) Conv2Ds: onnxruntime runs them faster than native dilated "
                    "1-D Convs (k=41 d=25 at SpliceAI's sizes: 4.1 vs 6.2 ms)",
    "conv_layouts": "{n} Conv(s) at a dynamic length run as Conv2Ds (widely dilated ones over "
                    "rows of their dilation, without dilation; the rest as (N, C, 1, L)), the "
                    "ops between them in the same layout: onnxruntime's 4-D kernels run them "
                    "faster than native 1-D Convs (8 x k=41 d=25 at SpliceAI's sizes: 36 vs "
                    "63 ms); for rows the input is padded at run time to a length every "
                    "layout divides, and the outputs are sliced back",
}


def lowerings(counts: dict[str, int], data: bytes | None = None) -> tuple[str, ...]:
    """The report's sentences: each lowering a pass chose, each reason a Transpose stays.

    Lowerings come from the pass counts; the Transposes are those inside the graph `data`
    (a finished ONNX file).
    """
    chosen = tuple(text.format(n=counts[name]) for name, text in LOWERINGS.items()
                   if counts.get(name))
    if data is None:
        return chosen
    import onnx

    return chosen + kept_transposes.describe(ir.from_proto(onnx.load_from_string(data)))


# Marks a file these passes wrote (its value: the lowering), so they are not run on it twice.
WRITTEN_BY = "converter.onnx_graph"


def optimize(data: bytes, lowering: str = "onnxruntime") -> tuple[bytes, dict[str, int]]:
    """Run every pass over a serialised ModelProto; returns the new bytes and change counts.

    `lowering` "native" skips the passes that choose a lowering for onnxruntime (LOWERINGS):
    every convolution stays a native 1-D Conv, for runtimes other than onnxruntime.
    """
    import onnx

    proto = onnx.load_from_string(data)
    skipped = set(LOWERINGS) if lowering == "native" else set()
    rewrites = tuple(p for p in REWRITES if p.name not in skipped)
    clean_up = tuple(p for p in CLEAN_UP if p.name not in skipped)
    counts = {p.name: 0 for p in (*rewrites, *clean_up)}
    if any(entry.key == WRITTEN_BY for entry in proto.metadata_props):
        return data, counts
    for _ in range(MAX_ROUNDS):
        model = ir.from_proto(onnx.shape_inference.infer_shapes(proto))
        changed = 0
        for step in rewrites:
            done = step(model).size
            counts[step.name] += done
            changed += done
        # what a rewrite left unread goes before the next round: an unread reader of a
        # tensor stops the chain rewrites there (they would shorten it on a second run)
        counts["remove_unused"] += remove_unused(model)
        proto = ir.to_proto(model)
        if not changed:
            break
    for step in clean_up:
        counts[step.name] += step(model).size
    model.metadata_props[WRITTEN_BY] = lowering
    return ir.to_proto(model).SerializeToString(), counts
