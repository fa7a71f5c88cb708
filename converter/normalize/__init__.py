"""Normalize stage: bring a graph in any Keras dialect to canonical Keras 3 vocabulary.

DEFAULT_PASSES is the documentation of the stage: the passes, in the order they run.
"""

from __future__ import annotations

from converter.artifacts import ModelGraph, PassRecord
from converter.graph.passes import GraphPass, Pass, PassResult, run_passes
from converter.normalize import (
    call_arguments,
    canonical_tuples,
    channels_last,
    dtype_names,
    expand_layers,
    input_batch_shape,
    keras1_layers,
    keras2_drift,
    legacy_hard_sigmoid,
    legacy_merge,
    recurrent_dropout,
    remove_inference_identity,
    tf_op_layers,
    theano_kernels,
    unwrap_time_distributed,
)

__all__ = ["DEFAULT_PASSES", "Pass", "PassResult", "normalize"]

DEFAULT_PASSES: tuple[GraphPass, ...] = (
    keras1_layers.PASS,
    legacy_merge.PASS,
    theano_kernels.PASS,
    input_batch_shape.PASS,
    dtype_names.PASS,
    keras2_drift.PASS,
    canonical_tuples.PASS,
    legacy_hard_sigmoid.PASS,
    expand_layers.PASS,
    tf_op_layers.PASS,
    call_arguments.PASS,
    remove_inference_identity.PASS,
    recurrent_dropout.PASS,
    unwrap_time_distributed.PASS,
    channels_last.PASS,
)


def normalize(graph: ModelGraph) -> tuple[ModelGraph, list[PassRecord]]:
    """Run DEFAULT_PASSES over the graph."""
    return run_passes(graph, DEFAULT_PASSES)
