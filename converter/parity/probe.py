"""Read an artifact's logits, and plant its defect copies (a `process.worker` task).

The logits of a softmax or sigmoid output are what the file computes without that final
squash: a temporary copy in which the SOFTMAX / LOGISTIC op (TFLite) or Softmax / Sigmoid
node (ONNX) that produces the output, past reshapes, slices and dequantisation, is taken out
runs on the CPU (LiteRT with XNNPACK, as tflite-xnnpack; onnxruntime without
optimisations, as ort-cpu-noopt: both at the fp32 tolerance every CPU check has), so the
logits come out in the output's own layout. Nothing is added to the shipped file. The
defect copies (`defects`) get the same reading, and so do the trial copies the middle layer
and channel are chosen by: the candidates whose scaling moves these unsquashed outputs the
most on the first parity case.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from converter.export.flatbuffer import indices, operator_code, text, viewed
from converter.graph.serialize import save_arrays
from converter.parity.defects import (
    CHANNEL,
    SMALL,
    Group,
    Middle,
    grouped,
    middle_candidates,
    middle_layers,
    opener,
    plan,
    plant,
)
from converter.parity.localize import first_layer, reading_session
from converter.parity.runtimes.tflite_interpreter import output_keys
from converter.parity.worker import power_cost

# Ops that only move, cut or dequantise values (taking the squash out commutes with them),
# and the squashing ops.
TFLITE_PASS_THROUGH = {22, 43, 70, 39, 6, 45, 65, 53}  # RESHAPE SQUEEZE EXPAND_DIMS TRANSPOSE
TFLITE_SQUASH = {25, 14}  # SOFTMAX, LOGISTIC            DEQUANTIZE STRIDED_SLICE SLICE CAST
ONNX_PASS_THROUGH = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Flatten",
                     "Slice", "Cast"}
ONNX_SQUASH = {"Softmax", "Sigmoid"}
Cases = list[dict[str, np.ndarray]]
Values = dict[tuple[int, str], np.ndarray]
Reader = Callable[[Path, Cases], tuple[Values, list[str]]]
TRIAL_CASES = 1  # enough to rank the candidates; fewer reads


def run(request: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """Plant the defect copies (when asked and affordable), then read the logits of every file.

    The copies, and the trial copies the middle defects are chosen by, read `copy_inputs`
    where given (some rows of each case, `sampling`), the file itself every row. With
    `budgeted` (--power auto) the copies are planted only where running them costs less
    than a check of this file: this probe times reading the file over the copies' cases, and
    that times the number of copies must fit in what it took from its start, less that
    warm-up (`worker.power_cost`, which each check applies again to its own runtime).
    """
    path, fmt = Path(request["path"]), request["format"]
    cases = read_cases(request)
    copy_cases = read_cases({**request, "inputs": request["copy_inputs"]}) \
        if request.get("copy_inputs") else cases
    names, squashed = request["artifact_outputs"], request["outputs"]
    read: Reader = ((lambda p, c: tflite_outputs(p, squashed, c, names)) if fmt == "tflite"
                    else (lambda p, c: onnx_outputs(p, squashed, c)))
    read(path, cases[:1])  # imports and a first run out of the way: then time one read
    base, located, own = timed(read, path, cases)
    copy_base = base
    if copy_cases is not cases:  # what a copy costs is a read of the copies' cases
        copy_base, _, own = timed(read, path, copy_cases)
    defects, note = [], ""
    if request["power"]:
        known = set(request["layers"])
        layers = grouped(opener(fmt)(path).weighted(), lambda n: first_layer(n, known))
        check = time.time() - float(request.get("started") or time.time())
        note = power_cost(len(plan(layers)), request.get("budgeted", False), check, own)
        if not note:
            first = {key: value for key, value in copy_base.items() if key[0] < TRIAL_CASES}
            chosen = middle(path, fmt, layers, read, copy_cases[:TRIAL_CASES], workdir, first)
            defects = plant(path, fmt, workdir, layers, chosen)
    found: dict[str, np.ndarray] = {}
    for index, target in enumerate([path, *(Path(d.path) for d in defects)] if squashed else []):
        values = base if index == 0 else read(target, copy_cases)[0]
        found |= {f"{index}/{case}/{name}": value for (case, name), value in values.items()
                  if name in located}
    save_arrays(Path(request["result"]), found)
    return {"defects": [asdict(d) for d in defects], "located": located, "power_note": note}


def timed(read: Reader, path: Path, cases: Cases) -> tuple[Values, list[str], float]:
    """One read of the file over `cases`: its values, the outputs unsquashed, its seconds."""
    began = time.perf_counter()
    values, located = read(path, cases)
    return values, located, time.perf_counter() - began


def read_cases(request: Mapping[str, Any]) -> Cases:
    """The parity inputs, keyed by the file's feed names."""
    with np.load(request["inputs"], allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return [{feed: arrays[f"{case}/{name}"] for name, feed in
             zip(request["input_names"], request["feed_names"], strict=True)}
            for case in range(request["cases"])]


def middle(path: Path, fmt: str, layers: list[Group], read: Reader, cases: Cases,
           workdir: Path, base: Values | None = None) -> Middle | None:
    """Where the middle defects show most on these inputs (see `defects`).

    `base`: the file's own outputs on `cases`, where already read.
    """
    if not layers:
        return None
    open_ = opener(fmt)
    if base is None:
        base, _ = read(path, cases)

    def shown(layer: int, factor: float, channel: int | None) -> float:
        copy = open_(path)
        layers[layer].scale(copy, factor, channel)
        trial = workdir / f"{path.stem}.trial{path.suffix}"
        copy.save(trial)
        moved, _ = read(trial, cases)
        trial.unlink()
        return max(visibility(base[key], moved[key]) for key in base)

    found = middle_layers(layers)
    layer = found[int(np.argmax([shown(x, SMALL, None) for x in found]))] if len(found) > 1 \
        else found[0]
    channels = middle_candidates(layers, layer)
    channel = channels[int(np.argmax([shown(layer, CHANNEL, c) for c in channels]))] \
        if len(channels) > 1 else channels[0]
    return Middle(layer, channel)


def visibility(base: np.ndarray, moved: np.ndarray) -> float:
    """How far a change stands out: the largest difference over a float32-scale tolerance."""
    if base.shape != moved.shape:
        return 0.0
    scale = 1e-5 + 1e-5 * np.abs(base.astype(np.float64))
    ratio = np.abs(moved.astype(np.float64) - base) / scale
    return float(np.nanmax(ratio)) if ratio.size else 0.0


def tflite_outputs(path: Path, squashed: list[str], cases: Cases,
                   names: list[str]) -> tuple[Values, list[str]]:
    """Every output for every case, the `squashed` ones without their squash where found.

    `names` are the artifact's output names, in the order runtimes return them
    (`output_keys`); the second value lists the outputs whose squash was taken out.
    """
    from ai_edge_litert.interpreter import Interpreter

    data = bytearray(path.read_bytes())
    model = viewed(data)
    signature = model.SignatureDefs(0)
    mappings = {text(m.Name()): m for m in
                (signature.Outputs(k) for k in range(signature.OutputsLength()))}
    order = output_keys({k: m.TensorIndex() for k, m in mappings.items()},
                        indices(model.Subgraphs(0).OutputsAsNumpy()))
    keys = dict(zip(order, names, strict=True))
    removed = [name for key, name in keys.items()
               if name in squashed and unsquash_tflite(model, data, mappings[key])]
    interpreter = Interpreter(model_content=bytes(data))  # XNNPACK, as tflite-xnnpack runs
    runner = interpreter.get_signature_runner(next(iter(interpreter.get_signature_list())))
    values: Values = {}
    for case, feeds in enumerate(cases):
        result = runner(**feeds)
        values |= {(case, name): np.asarray(result[key], np.float32)
                   for key, name in keys.items()}
    return values, removed


def unsquash_tflite(model: Any, data: bytearray, mapping: Any) -> bool:
    """Make the signature output `mapping` read the logits under its squash, if it has one.

    Found past pass-through ops. Edited in place (`viewed`): the squashing op's readers, the
    graph's outputs and the signature read its input instead, and the op is dropped (left
    in, unread, XNNPACK refuses the graph). A signature entry of tensor 0 is not stored
    (the schema's default), so it cannot be edited in place: such an output keeps its squash.
    """
    graph = model.Subgraphs(0)
    codes = [model.OperatorCodes(c) for c in range(model.OperatorCodesLength())]
    ops = [graph.Operators(k) for k in range(graph.OperatorsLength())]
    producers = {t: op for op in ops for t in indices(op.OutputsAsNumpy())}
    op = producers.get(mapping.TensorIndex())
    while op is not None and operator_code(codes, op) in TFLITE_PASS_THROUGH:
        op = producers.get(indices(op.InputsAsNumpy())[0])
    field = mapping._tab.Offset(6)  # TensorMap.tensor_index
    if op is None or operator_code(codes, op) not in TFLITE_SQUASH or not field:
        return False
    squashed, logits = indices(op.OutputsAsNumpy())[0], indices(op.InputsAsNumpy())[0]
    for vector in [graph.OutputsAsNumpy(), *(o.InputsAsNumpy() for o in ops if o is not op)]:
        if not isinstance(vector, int):
            vector[vector == squashed] = logits
    if mapping.TensorIndex() == squashed:
        struct.pack_into("<I", data, mapping._tab.Pos + field, logits)
    drop_operator(data, graph, ops.index(op))
    return True


def drop_operator(data: bytearray, graph: Any, index: int) -> None:
    """Take operator `index` out of the subgraph's operator list, in place.

    The list is a vector of offsets, each relative to its own slot: the ones after it move
    one slot (4 bytes) down, so each points 4 bytes further, and the length shrinks by one.
    """
    field = graph._tab.Offset(10)  # SubGraph.operators
    start, length = graph._tab.Vector(field), graph._tab.VectorLen(field)
    slots = np.frombuffer(data, "<u4", length, start)
    slots[index:length - 1] = slots[index + 1:length] + 4
    struct.pack_into("<I", data, start - 4, length - 1)


def onnx_outputs(path: Path, squashed: list[str], cases: Cases) -> tuple[Values, list[str]]:
    """Every output for every case, the `squashed` ones without their squash where found."""
    import onnx

    model = onnx.load(str(path))
    producers = {o: node for node in model.graph.node for o in node.output}
    removed = []
    for name in squashed:
        node = producers.get(name)
        while node is not None and node.op_type in ONNX_PASS_THROUGH:
            node = producers.get(node.input[0])
        if node is not None and node.op_type in ONNX_SQUASH:
            node.op_type = "Identity"
            del node.attribute[:]
            removed.append(name)
    names = [o.name for o in model.graph.output]
    session = reading_session(model, [])
    values: Values = {}
    for case, feeds in enumerate(cases):
        values |= {(case, name): np.asarray(value, np.float32)
                   for name, value in zip(names, session.run(names, feeds), strict=True)}
    return values, removed
