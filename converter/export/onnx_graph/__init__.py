"""ONNX graph passes written with onnx-ir, run on every file tf2onnx writes.

REWRITES and CLEAN_UP are the order, and the documentation, of the stage: each pass is one
file (or one onnx-ir pass) with a `run(model) -> int` that says how much it changed.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir
import onnx_ir.passes.common as common_passes

from converter.export.onnx_graph import (
    affine_batchnorm,
    dilated_rows,
    flatten_transpose,
    fold_batchnorm,
    fold_bias,
    fold_pad,
    layout_chains,
    native_1d,
    padded_rows,
    stable_names,
)


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


# The rewrites run until none changes anything (shapes inferred afresh each round: a value
# a rewrite created has none until then); the clean-up passes run once after them, the
# dynamic-length rows layout first: it plans the whole graph at once.
REWRITES: tuple[tuple[str, Callable[[ir.Model], int]], ...] = (
    ("native_1d", native_1d.run),
    ("layout_chains", layout_chains.run),
    ("fold_pad", fold_pad.run),
    ("fold_bias", fold_bias.run),
    ("affine_batchnorm", affine_batchnorm.run),
    ("fold_batchnorm", fold_batchnorm.run),
    ("flatten_transpose", flatten_transpose.run),
    ("dilated_rows", dilated_rows.run),
)
CLEAN_UP: tuple[tuple[str, Callable[[ir.Model], int]], ...] = (
    ("padded_rows", padded_rows.run),
    ("remove_unused", remove_unused),
    ("merge_duplicates", merge_duplicates),
    ("stable_names", stable_names.run),
)
MAX_ROUNDS = 4

# What a pass that chose a lowering for onnxruntime did, for the report: where a lowering is
# faster on onnxruntime than the native form, the file says which one it uses.
LOWERINGS = {
    "dilated_rows": "{n} dilated Conv(s) at a static length convolve rows of their dilation "
                    "as (k, 1) Conv2Ds: onnxruntime runs them faster than native dilated "
                    "1-D Convs (k=41 d=25 at SpliceAI's sizes: 4.1 vs 6.2 ms)",
    "padded_rows": "{n} dilated Conv(s) at a dynamic length convolve rows of their dilation "
                   "as (k, 1) Conv2Ds, the ops between them in the same layout: onnxruntime "
                   "runs them faster than native dilated 1-D Convs (8 x k=41 d=25 at "
                   "SpliceAI's sizes: 36 vs 63 ms); the input is padded at run time to a "
                   "length every rows layout divides, and the outputs are sliced back",
}


def lowerings(counts: dict[str, int]) -> tuple[str, ...]:
    """The report's sentence for each lowering a pass chose, by the pass counts."""
    return tuple(text.format(n=counts[name]) for name, text in LOWERINGS.items()
                 if counts.get(name))


def optimize(data: bytes) -> tuple[bytes, dict[str, int]]:
    """Run every pass over a serialised ModelProto; returns the new bytes and change counts."""
    import onnx

    proto = onnx.load_from_string(data)
    counts = {name: 0 for name, _ in (*REWRITES, *CLEAN_UP)}
    for _ in range(MAX_ROUNDS):
        model = ir.from_proto(onnx.shape_inference.infer_shapes(proto))
        changed = 0
        for name, step in REWRITES:
            done = step(model)
            counts[name] += done
            changed += done
        proto = ir.to_proto(model)
        if not changed:
            break
    for name, step in CLEAN_UP:
        counts[name] = step(model)
    return ir.to_proto(model).SerializeToString(), counts
