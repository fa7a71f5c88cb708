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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from converter.artifacts import ModelGraph, Tolerance


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
    import onnxruntime as ort

    model = onnx.load(str(path))
    known = {o.name for o in model.graph.output}
    for node in model.graph.node:
        for name in node.output:
            if name and name not in known:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(feeds)), strict=True))


def scopes(name: str) -> set[str]:
    """The name-scope components of a tensor name (fused names are ';'-joined)."""
    return {part for alias in name.split(";") for part in re.split(r"[/:]", alias)}


def mentioned(graph: ModelGraph, tensors: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
    """The layers each tensor name mentions, in graph order (fused ops mention several)."""
    order = {x.name: i for i, x in enumerate(graph.layers)}
    by_scope = {f"{x.name}_1": x.name for x in graph.layers}
    by_scope.update({x.name: x.name for x in graph.layers if x.name not in by_scope})
    found = {name: sorted({by_scope[s] for s in scopes(name) if s in by_scope},
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


def localize(
    graph: ModelGraph, path: Path, fmt: str, feeds: Mapping[str, np.ndarray],
    artifact_feeds: Mapping[str, np.ndarray], tolerance: Tolerance,
) -> Localization | None:
    """The first layer whose artifact output is outside `tolerance`; None if none is found.

    A conv that converter folds a batch norm into (conv_batchnorm) holds either output: the
    conv's (other converters) or the batch norm's (converter's), and agrees if either does.
    """
    from converter.export.graph_passes.conv_batchnorm import folded_pairs
    from converter.reference import layer_outputs

    reference = layer_outputs(graph, list(feeds.values()))
    tensors = (tflite_tensors if fmt == "tflite" else onnx_tensors)(path, artifact_feeds)
    layers_of = mentioned(graph, tensors)
    owned = owners(layers_of)
    folded = folded_pairs(graph)  # converter folds these batch norms into their convs
    passed: set[str] = set()
    compared = 0

    def within(got: np.ndarray, want: np.ndarray) -> bool:
        return bool(np.all(np.abs(got - want) <= tolerance.atol + tolerance.rtol * np.abs(want)))

    for layer in graph.layers:
        if layer.class_name == "InputLayer" or layer.name not in reference:
            continue
        want = reference[layer.name]
        candidates = [(n, aligned(tensors[n], want)) for n in owned.get(layer.name, [])]
        matches = [(n, v) for n, v in candidates if v is not None]
        if not matches:
            continue
        compared += 1
        name, got = matches[-1]
        norm = folded.get(layer.name)
        wants = [want, *([reference[norm]] if norm in reference else [])]
        if any(within(got, w) for w in wants):
            passed.update(x for x in (layer.name, norm) if x)
            continue
        want = min(wants, key=lambda w: float(np.abs(got - w).max()))
        error = np.abs(got - want)
        # A fused op's first output is the first place the file lets us look: the defect is
        # in the earliest layer of the fusion not already seen to agree.
        group = list(dict.fromkeys([x for x in layers_of[name] if x not in passed]
                                   + ([norm] if norm else [])))
        first = graph.layer(group[0])
        rel = float((error / np.maximum(np.abs(want), 1e-12)).max())
        return Localization(first.name, first.class_name, name, float(error.max()), rel,
                            compared, tuple(group))
    return None


def describe(found: Localization | None, reason: str = "") -> dict[str, Any]:
    """The localisation as the report records it."""
    if found is None:
        return {"layer": None, "note": reason or "no layer output diverges beyond tolerance "
                "where the artifact's tensors could be matched to layers"}
    return {"layer": found.layer, "class_name": found.class_name, "tensor": found.tensor,
            "max_abs": found.max_abs, "max_rel": found.max_rel,
            "layers_compared": found.layers_compared, "fused_with": list(found.fused_with)}
