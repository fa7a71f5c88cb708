"""Describe an existing .tflite/.onnx file (made by converter or any other tool) for `verify`.

Its inputs and outputs are matched to the model's by name where the names agree (also once
TFLite's decoration is removed: `serving_default_x:0` is `x`), else by position, in the
order each runtime feeds and returns them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from converter.artifacts import Artifact, InputSpec
from converter.errors import UsageError
from converter.export.io_contract import file_io
from converter.export.op_counts import onnx_op_counts, tflite_op_counts


def artifact_format(path: Path) -> str:
    """"tflite" or "onnx", from the file's bytes (a TFLite flatbuffer says TFL3 at 4..8)."""
    try:
        head = path.read_bytes()[:8]
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if head[4:8] == b"TFL3":
        return "tflite"
    if path.suffix.lower() == ".onnx":
        return "onnx"
    raise UsageError(f"{path}: is neither a .tflite flatbuffer nor an .onnx file")


def align(names: Sequence[str], wanted: Sequence[str], what: str, path: Path) -> tuple[str, ...]:
    """`names` reordered so the i-th matches `wanted[i]`: by name, undecorated name, position."""
    if len(names) != len(wanted):
        raise UsageError(f"{path}: has {len(names)} {what}s {list(names)}, the model has "
                         f"{len(wanted)} {list(wanted)}")
    exact = [next((n for n in names if n == w), None) for w in wanted]
    if all(exact):
        return tuple(exact)  # type: ignore[arg-type]
    loose = [next((n for n in names if core(n) == core(w)), None) for w in wanted]
    if all(loose) and len(set(loose)) == len(loose):
        return tuple(loose)  # type: ignore[arg-type]
    return tuple(names)


def core(name: str) -> str:
    """A tensor name without TFLite's signature decoration (`serving_default_x:0` -> `x`)."""
    return re.sub(r"^serving_default_|:\d+$", "", name)


def tflite_names(path: Path) -> tuple[list[str], list[str]]:
    """Signature input names, and output names in the order the TFLite runtimes return them."""
    from ai_edge_litert.interpreter import Interpreter

    from converter.parity.runtimes.tflite_interpreter import signature_outputs

    interpreter = Interpreter(model_path=str(path))
    signatures = interpreter.get_signature_list()
    if not signatures:
        raise UsageError(f"{path}: has no signature; re-export it with a serving signature")
    key = next(iter(signatures))
    return list(signatures[key]["inputs"]), signature_outputs(interpreter, key)


def onnx_names(path: Path) -> tuple[list[str], list[str]]:
    """Graph input names (initialisers excluded) and output names, in graph order."""
    import onnx

    graph = onnx.load(str(path)).graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in initializers]
    return inputs, [o.name for o in graph.output]


def describe_artifact(path: Path, specs: Sequence[InputSpec], outputs: Sequence[str]) -> Artifact:
    """An Artifact for an existing file, its names aligned with the model's."""
    fmt = artifact_format(path)
    data = path.read_bytes()
    inputs, produced = (tflite_names if fmt == "tflite" else onnx_names)(path)
    input_names = align(inputs, [s.name for s in specs], "input", path)
    by_output = align(produced, list(outputs), "output", path)
    # judge() needs, in the order the runtime returns them, the model output each one is.
    output_names = tuple(outputs[by_output.index(name)] for name in produced)
    counts = tflite_op_counts(data) if fmt == "tflite" else onnx_op_counts(data)
    return Artifact(str(path.absolute()), fmt, "fp32", len(data),
                    hashlib.sha256(data).hexdigest(), counts, input_names, output_names,
                    io=file_io(data, fmt))
