"""ONNX graph passes written with onnx-ir, run on every file tf2onnx writes.

PASSES is the order, and the documentation, of the stage: each pass is one file with its
Given/Result docstring and a `run(model) -> int` that says how much it changed.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir
import onnx_ir.passes.common as common_passes

from converter.export.onnx_graph import (
    affine_batchnorm,
    fold_bias,
    fold_pad,
    layout_chains,
    native_1d,
    stable_names,
)


def remove_unused(model: ir.Model) -> int:
    """onnx-ir's dead-code pass: nodes and initializers the rewrites left unread."""
    before = len(model.graph) + len(model.graph.initializers)
    common_passes.RemoveUnusedNodesPass()(model)
    return before - len(model.graph) - len(model.graph.initializers)


PASSES: tuple[tuple[str, Callable[[ir.Model], int]], ...] = (
    ("native_1d", native_1d.run),
    ("layout_chains", layout_chains.run),
    ("fold_pad", fold_pad.run),
    ("fold_bias", fold_bias.run),
    ("affine_batchnorm", affine_batchnorm.run),
    ("remove_unused", remove_unused),
    ("stable_names", stable_names.run),
)


def optimize(data: bytes) -> tuple[bytes, dict[str, int]]:
    """Run every pass over a serialised ModelProto; returns the new bytes and change counts."""
    import onnx

    proto = onnx.shape_inference.infer_shapes(onnx.load_from_string(data))
    model = ir.from_proto(proto)
    counts: dict[str, int] = {}
    for name, step in PASSES:
        counts[name] = step(model)
    return ir.to_proto(model).SerializeToString(), counts
