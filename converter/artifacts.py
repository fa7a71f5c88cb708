"""The frozen hand-off types between stages.

Every stage takes and returns these objects and nothing else, so no stage reaches into
another's internals, and everything but the weights serialises to JSON for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# How one parity check ended; FAILURES are the statuses that fail a conversion. An
# `inconclusive` check (its reference carried no information) fails one too unless the user
# allows it (--allow-inconclusive). A `disputed` check is a default reference evaluator that
# disagrees with every other runtime of its file (parity/disagreement.py): reported only.
CheckStatus = Literal["passed", "failed", "inconclusive", "skipped", "crashed", "timeout",
                      "disputed"]
FAILURES: frozenset[str] = frozenset({"failed", "crashed", "timeout"})


@dataclass(frozen=True)
class TensorRef:
    """One output tensor of one call of a layer (shared layers are called several times)."""

    layer: str
    call_index: int = 0
    tensor_index: int = 0


@dataclass(frozen=True)
class LayerCall:
    """The tensors one call of a layer consumed.

    `list_input` records whether the layer received a list (merges) or a single tensor,
    since a one-element list and a tensor mean different things to Keras.
    """

    inputs: tuple[TensorRef, ...]
    list_input: bool = False
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """A layer in the source's vocabulary until normalisation brings it to Keras 3."""

    name: str
    class_name: str
    config: Mapping[str, Any]
    calls: tuple[LayerCall, ...] = ()
    weights: tuple[np.ndarray, ...] = ()
    weight_names: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """JSON-ready description without the weight values."""
        return {
            "name": self.name,
            "class_name": self.class_name,
            "weights": [list(w.shape) for w in self.weights],
        }


@dataclass(frozen=True)
class Provenance:
    """Where a model came from and how it was read."""

    path: str
    sha256: str
    format: str
    keras_version: str
    backend: str = "tensorflow"
    backend_decided_by: str = "default: TensorFlow"
    architecture: str = ""
    input_note: str = ""


@dataclass(frozen=True)
class ModelGraph:
    """A framework-free DAG of layers: the normalisation IR (DESIGN.md, "The graph").

    `kernel_convention` is "convolution" while the conv kernels are Theano's (flipped
    relative to TensorFlow's cross-correlation); `source_keras` is the Keras major version
    whose semantics the configs carry ("1", "2" or "3"); `input_note` says how an input
    shape the file did not declare was inferred.
    """

    layers: tuple[Layer, ...]
    inputs: tuple[TensorRef, ...]
    outputs: tuple[TensorRef, ...]
    name: str = "model"
    kernel_convention: str = "cross-correlation"
    source_keras: str = "3"
    input_note: str = ""
    fixed_batch: int | None = None
    input_permutations: tuple[tuple[int, ...] | None, ...] = ()
    output_permutations: tuple[tuple[int, ...] | None, ...] = ()

    def layer(self, name: str) -> Layer:
        """The layer called `name`; a KeyError names the valid ones."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers are {[x.name for x in self.layers]}")

    def call_order(self) -> tuple[list[tuple[Layer, int]], list[str]]:
        """Every (layer, call index) after the calls it reads, and the layers left waiting.

        The second list names the layers whose inputs no call produces (empty when none
        does). Calls become ready in waves, file order within a wave; a shared layer's later calls
        may come after layers that follow its first.
        """
        done = {(r.layer, r.call_index) for r in self.inputs} | {
            (x.name, 0) for x in self.layers if x.class_name == "InputLayer"}
        pending = [(x, i) for x in self.layers for i in range(len(x.calls))]
        order: list[tuple[Layer, int]] = []
        while pending:
            ready = [(x, i) for x, i in pending
                     if all((r.layer, r.call_index) in done for r in x.calls[i].inputs)]
            if not ready:
                break
            order += ready
            done |= {(x.name, i) for x, i in ready}
            pending = [item for item in pending if item not in ready]
        return order, sorted({x.name for x, _ in pending})

    def consumers(self, name: str) -> list[str]:
        """Names of the layers that read any output of layer `name`."""
        return [
            x.name for x in self.layers if any(r.layer == name for c in x.calls for r in c.inputs)
        ]


@dataclass(frozen=True)
class InputSpec:
    """One model input as the parity stage must feed it.

    `shape` includes the batch axis; None marks a dynamic axis. `int_range` is set when the
    input feeds an Embedding, so synthetic data draws valid token ids.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    int_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class LoadedModel:
    """What `load` hands on: the graph, where it came from, and how to run the original.

    `reference_loader` names the library that can load the original file for the `keras`
    reference runtime ("keras" for Keras 3, "tf_keras" for Keras 2 files).
    """

    graph: ModelGraph
    provenance: Provenance
    reference_loader: str


@dataclass(frozen=True)
class PassRecord:
    """What one normalisation pass did, for the report."""

    name: str
    modified: bool
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Artifact:
    """One exported file.

    `op_counts_before` are the converter's counts before converter's own graph passes
    (tf2onnx's output for ONNX), `graph_passes` what each of those passes changed, and
    `lowerings` which runtime-specific lowering the file uses, and why.
    """

    path: str
    format: str
    precision: str
    bytes: int
    sha256: str
    op_counts: Mapping[str, int]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    delegates: Mapping[str, Any] = field(default_factory=dict)
    op_counts_before: Mapping[str, int] = field(default_factory=dict)
    graph_passes: Mapping[str, int] = field(default_factory=dict)
    lowerings: tuple[str, ...] = ()
    io: Mapping[str, Any] = field(default_factory=dict)  # export.io_contract: name/shape/...


@dataclass(frozen=True)
class Tolerance:
    """An allclose-style bound: |actual - expected| <= atol + rtol * |expected|.

    With `scaled`, atol is a fraction of the output's largest reference magnitude: quantised
    files err in steps of the output range, not of each element.
    """

    atol: float
    rtol: float
    why: str
    scaled: bool = False


@dataclass(frozen=True)
class OutputComparison:
    """Evidence for one output of one parity check, never a bare boolean.

    `informative` says whether the reference values carried information (`information`
    says why not); `logits` compares the tensor before a final softmax or sigmoid.
    """

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    mean_abs: float
    cosine: float
    required_atol: float
    required_rtol: float
    top1_agreement: float | None
    passed: bool
    note: str = ""
    informative: bool = True
    information: str = ""
    logits: OutputComparison | None = None


@dataclass(frozen=True)
class ParityCheck:
    """One runtime on one artifact, against the reference outputs."""

    runtime: str
    artifact: str
    status: CheckStatus
    max_abs: float | None = None
    max_rel: float | None = None
    reason: str = ""
    tolerance: Tolerance | None = None
    outputs: tuple[OutputComparison, ...] = ()
    seconds: float = 0.0
    facts: Mapping[str, Any] = field(default_factory=dict)
    localization: Mapping[str, Any] | None = None
    power: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """True only for a check that ran and met its tolerance."""
        return self.status == "passed"


@dataclass(frozen=True)
class ConvertResult:
    """What `converter.convert` returns to a deployment script."""

    passed: bool
    exit_code: int
    provenance: Provenance
    passes: tuple[PassRecord, ...]
    artifacts: tuple[Artifact, ...]
    parity: tuple[ParityCheck, ...]
    report_path: str
    report: Mapping[str, Any]
