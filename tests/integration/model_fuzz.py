"""One random model (random_models.py) through converter's stages, checked every way.

In this process, without worker processes (they isolate crashes; here speed matters): load
the saved file, normalise, build, export TFLite and ONNX as `convert` does, run every CPU
runtime on the parity inputs and compare each output with the source model's (Keras or
tf.keras) within the runtime's own tolerance. Then the graph invariants: one convolution op
per convolution in each format, no run-time shape ops in TFLite, no Unsqueeze, Pad before a
Conv or Shape in the native ONNX, every Transpose inside the ONNX named by the report's
lowerings, and the ONNX passes find nothing to do on their own output.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tests.integration.random_models import build

CPU_RUNTIMES = ("keras-normalized", "numpy", "tflite-xnnpack", "tflite-builtin",
                "tflite-reference", "ort-cpu", "ort-cpu-noopt", "onnx-reference")
CONVS = {"Conv1D": 1, "SeparableConv1D": 2, "DepthwiseConv1D": 1, "Conv1DTranspose": 1}
TFLITE_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")
TFLITE_SHAPE_OPS = ("SHAPE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")


@dataclass
class Outcome:
    """What one seed found: failures (empty when it passed) and the model's config."""

    seed: int
    path: Path
    failures: list[str] = field(default_factory=list)
    config: str = ""
    checks: int = 0
    skipped: list[str] = field(default_factory=list)


def check(seed: int, directory: Path) -> Outcome:
    """Build model `seed` into `directory` and check it; never raises for the model."""
    return check_file(build(seed, directory), directory, seed)


def check_file(path: Path, directory: Path, seed: int = -1) -> Outcome:
    """Check one saved model (a generated one, or a regression test's)."""
    outcome = Outcome(seed, path)
    try:
        run_checks(outcome, directory)
    except Exception as exc:  # a crash in any stage is a finding, with its seed
        outcome.failures.append(f"{type(exc).__name__}: {exc}")
    if outcome.failures:
        outcome.config = model_config(path)
    return outcome


def model_config(path: Path) -> str:
    """The saved model's Keras config (JSON), to replay or shrink a failure."""
    if path.suffix == ".keras":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            return archive.read("config.json").decode()
    import h5py

    with h5py.File(path, "r") as handle:
        config = handle.attrs["model_config"]
    return config.decode() if isinstance(config, bytes) else str(config)


def run_checks(outcome: Outcome, directory: Path) -> None:
    """Convert and check; failures are appended to `outcome`."""
    from converter.build import build_targets
    from converter.errors import NotApplicable
    from converter.export.write import export, onnx_artifact, stock_onnx
    from converter.graph.interface import output_names
    from converter.graph.pipeline import prepare
    from converter.graph.serialize import save_graph
    from converter.load import load_path
    from converter.options import ConvertOptions
    from converter.parity.inputs import parity_cases

    loaded = load_path(outcome.path)
    options = ConvertOptions(output_dir=directory)
    prepared = prepare(loaded.graph, options)
    models = build_targets(prepared.targets, {}, False)
    stage = directory / f"stage_{outcome.seed}"
    stage.mkdir(exist_ok=True)
    interface = prepared.targets.get("onnx") or prepared.targets["tflite"]
    # tf2onnx once: its file through the default lowering, as convert writes it, and native
    artifacts = export(models, interface, stage, "model", replace(options, to=("tflite",)))
    stock = stock_onnx(models["onnx"], interface, options.opset)
    artifacts.append(onnx_artifact(stock, interface, stage / "model.onnx",
                                   options.onnx_lowering))
    (stage / "native").mkdir(exist_ok=True)
    native = onnx_artifact(stock, interface, stage / "native" / "model.onnx", "native")
    cases = parity_cases(prepared.checked, options).cases
    graph_file = save_graph(prepared.checked, stage / "graph.json")
    reference = outputs("keras", str(outcome.path), loaded.reference_loader, cases)
    files = {a.format: stage / a.path for a in artifacts}
    for runtime in CPU_RUNTIMES:
        target = graph_file if runtime in ("numpy", "keras-normalized") else files[
            "tflite" if runtime.startswith("tflite") else "onnx"]
        try:
            got = outputs(runtime, str(target), "", cases)
        except NotApplicable as exc:  # reported skipped by convert, with this reason
            outcome.skipped.append(f"{runtime}: {exc}")
            continue
        compare(outcome, runtime, got, reference, list(output_names(interface)))
    invariants(outcome, prepared.checked, artifacts, stage / "native" / "model.onnx",
               native.lowerings)


def outputs(runtime: str, target: str, loader: str,
            cases: list[dict[str, np.ndarray]]) -> list[list[np.ndarray]]:
    """Every case's outputs from one runtime, in this process."""
    from converter.parity.runtimes import create

    instance = create(runtime)
    instance.load(target, loader)
    return [instance.run(case) for case in cases]


def compare(outcome: Outcome, runtime: str, got: list[list[np.ndarray]],
            want: list[list[np.ndarray]], names: list[str]) -> None:
    """Each output of each case within the runtime's tolerance."""
    from converter.parity.compare import compare_output
    from converter.parity.tolerances import tolerance_for

    tolerance = tolerance_for(runtime, "graph" if runtime in ("numpy", "keras-normalized")
                              else "fp32")
    for index, name in enumerate(names):
        found = compare_output(name, [case[index] for case in got],
                               [case[index] for case in want], tolerance)
        outcome.checks += 1
        if not found.passed:
            outcome.failures.append(f"{runtime} {name}: max abs {found.max_abs:.3g} "
                                    f"(tolerance {tolerance.atol:g} + {tolerance.rtol:g} rel)")


def invariants(outcome: Outcome, graph: Any, artifacts: list[Any], native: Path,
               kept: tuple[str, ...]) -> None:
    """The graph invariants of both formats (module docstring)."""
    import onnx

    from converter.graph.interface import input_specs

    convs = sum(CONVS.get(layer.class_name, 0) for layer in graph.layers)
    tflite = next(a for a in artifacts if a.format == "tflite").op_counts
    counted = sum(tflite.get(op, 0) for op in TFLITE_CONVS)
    if counted != convs:
        outcome.failures.append(f"TFLite has {counted} convolution ops for {convs} convolutions")
    # Reading a dynamic length is needed where it merges with the batch (an interleave's
    # Reshape, a recurrent loop's zero state); at a static length nothing is read.
    static = all(d is not None for spec in input_specs(graph) for d in spec.shape[1:])
    shape_ops = {op: n for op, n in tflite.items()
                 if op in TFLITE_SHAPE_OPS and (static or op != "SHAPE")}
    if shape_ops:
        outcome.failures.append(f"TFLite has run-time shape ops {shape_ops}")
    model = onnx.load(native)
    ops = Counter(n.op_type for n in model.graph.node)
    from_dense = sum(1 for n in model.graph.node
                     if n.op_type == "Conv" and n.input[1].endswith("_as_conv"))
    if ops["Conv"] + ops["ConvTranspose"] - from_dense != convs:
        outcome.failures.append(f"native ONNX has {ops['Conv'] + ops['ConvTranspose']} "
                                f"convolution ops ({from_dense} from Dense) for {convs}")
    # Recurrent layers that are loops (not LSTM/GRU ops) read their length (issue 14).
    loops = tuple(f"/{layer.name}" for layer in graph.layers
                  if layer.class_name in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"))
    onnx_checks(outcome, model, kept, loops)


def onnx_checks(outcome: Outcome, model: Any, kept: tuple[str, ...],
                loops: tuple[str, ...]) -> None:
    """Shape ops, conv lowering left overs, unexplained Transposes, idempotence."""
    from converter.export.onnx_graph import optimize

    producers = {o: n for n in model.graph.node for o in n.output}
    readers = {i: n for n in model.graph.node for i in n.input}
    for node in model.graph.node:
        source = producers.get(node.input[0]) if node.input else None
        if node.op_type == "Conv" and source is not None and source.op_type in (
                "Pad", "Unsqueeze"):
            outcome.failures.append(f"native ONNX keeps a {source.op_type} before a Conv")
        reader = readers.get(node.output[0])
        if node.op_type == "Conv" and reader is not None and reader.op_type == "Squeeze":
            outcome.failures.append("native ONNX keeps a Squeeze after a Conv")
        if node.op_type == "Shape" and not any(
                scope in name for scope in loops for name in (*node.input, *node.output)):
            outcome.failures.append(f"native ONNX has a Shape: {node.output[0]}")
    inputs = {i.name for i in model.graph.input}
    outputs = {o.name for o in model.graph.output}
    inside = sum(1 for n in model.graph.node if n.op_type == "Transpose"
                 and n.input[0] not in inputs and n.output[0] not in outputs)
    named = sum(int(line.split()[0]) for line in kept if "Transpose(s) kept" in line)
    if inside != named:
        outcome.failures.append(f"{inside} Transposes inside the native ONNX, {named} named")
    del model.metadata_props[:]
    _, again = optimize(model.SerializeToString(), "native")
    redone = {name: n for name, n in again.items() if n and name != "stable_names"}
    if redone:
        outcome.failures.append(f"the ONNX passes change their own output: {redone}")


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Counts for a report line: models, checks, failing seeds."""
    failing = [o.seed for o in outcomes if o.failures]
    return {"models": len(outcomes), "checks": sum(o.checks for o in outcomes),
            "failing_seeds": failing}


def describe(outcome: Outcome) -> str:
    """A failure as printed: the seed to replay, what failed, the model's config."""
    lines = [f"seed {outcome.seed} ({outcome.path.name}):"]
    lines += [f"  {failure}" for failure in outcome.failures]
    lines.append(f"  config: {json.dumps(json.loads(outcome.config)) if outcome.config else ''}")
    return "\n".join(lines)
