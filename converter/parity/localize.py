"""Name the first Keras layer whose output diverges in an artifact that failed parity.

The NumPy reference gives every layer's output; the artifact is re-run keeping every
intermediate tensor (LiteRT's preserve-all-tensors interpreter without delegates; onnxruntime
with every node output made a graph output and no optimisation). Converters keep the Keras
name scopes in tensor names (`model_1/conv_1/Relu`); a tensor of fused ops names every layer
it fused (`conv0_1/BiasAdd;bn0_1/...;relu0_1/Relu`) and holds the output of the last of them
in graph order, so each tensor is assigned to that layer. A layer's output is the last of its
tensors whose shape, ones dropped, is the layer's, possibly in another axis order (tf2onnx
keeps NCHW inside); a conv with a batch norm folded in may hold the batch norm's. Layers
without such a tensor (fused away) are skipped; layers are checked in graph order and the
first outside the tolerance is the answer.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import Layer, ModelGraph, Tolerance
from converter.graph.interface import output_names


@dataclass(frozen=True)
class Localization:
    """The first diverging layer, its error, and how much of the graph could be compared."""

    layer: str
    class_name: str
    tensor: str
    max_abs: float
    max_rel: float
    layers_compared: int
    fused_with: tuple[str, ...] = ()


def tflite_tensors(path: Path, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of one run of a .tflite file, by name."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    signatures = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    runner(**feeds)
    values = {}
    for detail in interpreter.get_tensor_details():
        try:
            values[detail["name"]] = np.array(interpreter.get_tensor(detail["index"]))
        except ValueError:  # tensors without data (scratch, optional)
            continue
    return values


def onnx_tensors(path: Path, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node output of one run of an .onnx file, by name."""
    import onnx

    model = onnx.load(str(path))
    names = [name for node in model.graph.node for name in node.output if name]
    session = reading_session(model, names)
    outputs = [o.name for o in session.get_outputs()]
    return dict(zip(outputs, session.run(outputs, dict(feeds)), strict=True))


def reading_session(model: Any, names: list[str]) -> Any:
    """An onnxruntime session of `model` without optimisations, `names` made outputs too.

    Unoptimised, every value is computed as the file writes it (no fusion hides one).
    """
    import onnx
    import onnxruntime as ort

    known = {o.name for o in model.graph.output}
    for name in dict.fromkeys(names):
        if name not in known:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def scopes(name: str) -> set[str]:
    """The name-scope components of a tensor name (fused names are ';'-joined)."""
    return {part for alias in name.split(";") for part in re.split(r"[/:]", alias)}


def scope_layer(part: str, layers: Collection[str]) -> str | None:
    """The layer a name-scope component stands for, if any.

    TensorFlow makes each traced layer's scope unique with a `_<n>` suffix where the name is
    taken (a Keras 3 model's `dense` becomes `dense_1`, its `dense_1` becomes `dense_1_2`):
    the name less one such suffix first, then the name itself.
    """
    base = re.sub(r"_\d+$", "", part)
    if base != part and base in layers:
        return base
    return part if part in layers else None


def first_layer(name: str, layers: Collection[str]) -> str | None:
    """The first layer a tensor name mentions, reading it left to right."""
    return next((found for alias in name.split(";") for part in re.split(r"[/:]", alias)
                 if (found := scope_layer(part, layers)) is not None), None)


def mentioned(graph: ModelGraph, tensors: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
    """The layers each tensor name mentions, in graph order (fused ops mention several).

    A model output is named after its layer (`export.io_contract`), not by a name scope.
    """
    order = {x.name: i for i, x in enumerate(graph.layers)}
    outputs = {name: [ref.layer] for name, ref in zip(output_names(graph), graph.outputs,
                                                      strict=True)}
    found = {name: outputs.get(name) or sorted(
        {layer for s in scopes(name) if (layer := scope_layer(s, order))},
        key=order.__getitem__) for name in tensors}
    return {name: layers for name, layers in found.items() if layers}


def owners(layers_of: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Tensor names per layer: a tensor holds the output of the last layer it mentions."""
    owned: dict[str, list[str]] = {}
    for name, layers in layers_of.items():
        owned.setdefault(layers[-1], []).append(name)
    return owned


def aligned(value: np.ndarray, want: np.ndarray) -> np.ndarray | None:
    """`value` in the reference's layout (size-1 axes dropped, axes permuted), or None."""
    have = np.squeeze(np.asarray(value, dtype=np.float64))
    target = tuple(d for d in want.shape if d != 1)
    if have.shape == target:
        return have.reshape(want.shape)
    if sorted(have.shape) != sorted(target) or have.ndim > 4:
        return None
    for axes in itertools.permutations(range(have.ndim)):
        if axes[0] == 0 and tuple(have.shape[a] for a in axes) == target:
            return np.transpose(have, axes).reshape(want.shape)
    return None


@dataclass(frozen=True)
class LayerError:
    """One layer's output in an artifact against the reference's.

    The tensor it was read from, its error, whether that is within tolerance, and the layers
    fused into it.
    """

    layer: str
    class_name: str
    tensor: str
    max_abs: float
    max_rel: float
    within: bool
    fused_with: tuple[str, ...] = ()


# Layers that only move values: a file may hold their output in another element order
# (ONNX Flatten after a channels-first map whose Dense rows were reordered to match).
MOVES_VALUES = ("Flatten", "Reshape", "Permute")


def layer_errors(
    graph: ModelGraph, path: Path, fmt: str, feeds: Mapping[str, np.ndarray],
    artifact_feeds: Mapping[str, np.ndarray], tolerance: Tolerance,
) -> list[LayerError]:
    """Every layer whose output the artifact holds, in graph order, with its error.

    A conv that converter folds a batch norm into (conv_batchnorm) holds either output: the
    conv's (other converters) or the batch norm's (converter's), and agrees if either does.
    A diverging fused tensor is attributed to the earliest layer of the fusion not already
    seen to agree: its first output is the first place the file lets us look.
    """
    from converter.export.graph_passes.conv_batchnorm import folded_pairs
    from converter.reference import layer_outputs

    reference = layer_outputs(graph, list(feeds.values()))
    tensors = (tflite_tensors if fmt == "tflite" else onnx_tensors)(path, artifact_feeds)
    layers_of = mentioned(graph, tensors)
    owned = owners(layers_of)
    folded = folded_pairs(graph)  # converter folds these batch norms into their convs
    passed: set[str] = set()
    found: list[LayerError] = []

    def within(got: np.ndarray, want: np.ndarray, moves: bool) -> bool:
        # An intermediate tensor's float32 error grows with its range, as a quantised
        # output's does: atol is taken per unit of the tensor's largest magnitude.
        atol = tolerance.atol * max(1.0, float(np.abs(want).max(initial=0.0)))

        def close(a: np.ndarray, b: np.ndarray) -> bool:
            return bool(np.all(np.abs(a - b) <= atol + tolerance.rtol * np.abs(b)))

        return close(got, want) or (moves and close(np.sort(got, None), np.sort(want, None)))

    for layer in graph.layers:
        if layer.class_name == "InputLayer" or layer.name not in reference:
            continue
        want = reference[layer.name]
        candidates = [(n, aligned(tensors[n], want)) for n in owned.get(layer.name, [])]
        matches = [(n, v) for n, v in candidates if v is not None]
        if not matches:
            continue
        norm = folded.get(layer.name)
        wants = [want, *([reference[norm]] if norm in reference else [])]
        # The layer's tensors in the file (before and after a fused activation, a reordered
        # Flatten): its output is the one closest to the reference's.
        name, got = min(matches, key=lambda m: min(distance(m[1], w) for w in wants))
        if any(within(got, w, layer.class_name in MOVES_VALUES) for w in wants):
            passed.update(x for x in (layer.name, norm) if x)
            found.append(error_of(graph.layer(layer.name), name, got, want, True, ()))
            continue
        want = min(wants, key=lambda w: float(np.abs(got - w).max()))
        group = list(dict.fromkeys([x for x in layers_of[name] if x not in passed]
                                   + ([norm] if norm else [])))
        found.append(error_of(graph.layer(group[0]), name, got, want, False, tuple(group)))
    return found


def distance(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference, NaN as infinitely far."""
    return float(np.nan_to_num(np.abs(got - want).max(initial=0.0), nan=np.inf))


def error_of(layer: Layer, tensor: str, got: np.ndarray, want: np.ndarray, within: bool,
             group: tuple[str, ...]) -> LayerError:
    """A layer's error record."""
    error = np.abs(got - want)
    rel = float((error / np.maximum(np.abs(want), 1e-12)).max(initial=0.0))
    return LayerError(layer.name, layer.class_name, tensor, float(error.max(initial=0.0)), rel,
                      within, group)


def localize(
    graph: ModelGraph, path: Path, fmt: str, feeds: Mapping[str, np.ndarray],
    artifact_feeds: Mapping[str, np.ndarray], tolerance: Tolerance,
) -> tuple[Localization | None, bool]:
    """The first diverging layer (None if none is found), and whether the outputs agree.

    The layer is the first whose artifact output is outside `tolerance`; the outputs agree
    when the artifact holds every model output's layer and each is within it.
    """
    errors = layer_errors(graph, path, fmt, feeds, artifact_feeds, tolerance)
    ends = {ref.layer for ref in graph.outputs}
    at_ends = [e for e in errors if e.layer in ends or set(e.fused_with) & ends]
    agrees = len({e.layer for e in at_ends}) == len(ends) and all(e.within for e in at_ends)
    for compared, error in enumerate(errors, start=1):
        if not error.within:
            return Localization(error.layer, error.class_name, error.tensor, error.max_abs,
                                error.max_rel, compared, error.fused_with), agrees
    return None, agrees


def unexplained(found: Localization | None, failure: float) -> str:
    """Why no layer of a file explains a failure whose file agrees with the graph."""
    named = "" if found is None else (
        f"; its first diverging layer, {found.layer} (max abs {found.max_abs:.3g}), explains "
        "less than the failure")
    return (f"not localised in the file: its outputs agree with the normalised graph's, while "
            f"the check is max abs {failure:.3g} from the reference{named}; the difference "
            "lies between the original model and the normalised graph (see the graph checks)")


def describe(found: Localization | None, reason: str = "") -> dict[str, Any]:
    """The localisation as the report records it."""
    if found is None:
        return {"layer": None, "note": reason or "no layer output diverges beyond tolerance "
                "where the artifact's tensors could be matched to layers"}
    return {"layer": found.layer, "class_name": found.class_name, "tensor": found.tensor,
            "max_abs": found.max_abs, "max_rel": found.max_rel,
            "layers_compared": found.layers_compared, "fused_with": list(found.fused_with)}
