"""LiteRT's CompiledModel on the GPU accelerator (ML Drift over WebGPU/Vulkan), fp16 and fp32.

The GPU path is what a phone runs when an app asks for the GPU: its default precision is
fp16, so its numbers differ from the CPU's by ~1e-3 relative, and its op coverage decides
what falls back to the CPU (`is_fully_accelerated`). On a machine without a GPU it runs on
Mesa's software Vulkan driver (lavapipe), which gives the same fp16 numerics. TensorFlow
must not be imported in this process (the accelerator segfaults), hence the worker.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np

from converter.errors import NotApplicable
from converter.parity.runtimes.base import Accepts, Defaults, check_feeds

ICD_GLOBS = ("/usr/share/vulkan/icd.d/*.json", "/etc/vulkan/icd.d/*.json")
VULKAN_HINT = ("no Vulkan driver found: run scripts/setup.sh as root on Debian bookworm (it "
               "installs libvulkan1 and mesa-vulkan-drivers >= 24 from bookworm-backports), or "
               "set VK_DRIVER_FILES to your GPU's ICD json")


def static_copy(data: bytes, shapes: dict[str, tuple[int, ...]]) -> bytes:
    """The flatbuffer specialised to input `shapes`, every tensor's shape made static.

    What an app does before it hands a model to the GPU: resize the inputs and allocate, so
    every shape is known. The GPU accelerator reads tensor shapes from the file when it
    compiles, so the shapes LiteRT's interpreter computes for these inputs are written into
    a copy (a dynamic file stores placeholder shapes, e.g. length 1, for its intermediates).
    """
    from ai_edge_litert.interpreter import Interpreter

    from converter.export.flatbuffer import packed, unpacked

    interpreter = Interpreter(model_content=data)
    runner_inputs = interpreter.get_signature_runner().get_input_details()
    for name, detail in runner_inputs.items():
        interpreter.resize_tensor_input(detail["index"], list(shapes[name]), strict=False)
    interpreter.allocate_tensors()
    computed = {d["index"]: d["shape"] for d in interpreter.get_tensor_details()}
    model = unpacked(data)
    for index, tensor in enumerate(model.subgraphs[0].tensors):
        if index in computed and tensor.shapeSignature is not None:
            tensor.shape = np.array(computed[index], dtype=np.int32)
            tensor.shapeSignature = None
    return packed(model)


def vulkan_missing() -> str:
    """"" when a Vulkan loader and at least one ICD are present, else why and the fix."""
    if os.environ.get("VK_DRIVER_FILES") or os.environ.get("VK_ICD_FILENAMES"):
        return ""
    loaders = glob.glob("/usr/lib/*/libvulkan.so.1") + glob.glob("/usr/lib/libvulkan.so.1")
    icds = [p for pattern in ICD_GLOBS for p in glob.glob(pattern)]
    return "" if loaders and icds else VULKAN_HINT


class LitertGpuFp16(Defaults):
    """GPU accelerator at its default precision, CPU fallback for ops it cannot place."""

    name = "litert-gpu-fp16"
    accepts: Accepts = "tflite"
    install_hint = "pip install 'ai-edge-litert>=2.3,<2.4'"
    enforce_f32 = False

    def __init__(self) -> None:
        self.model: Any = None
        self.key = ""
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.fully_accelerated: bool | None = None
        self.data = b""
        self.compiled_for: tuple[tuple[int, ...], ...] | None = None

    def unavailable(self) -> str:
        """Why this runtime cannot run here ("" when it can)."""
        return vulkan_missing()

    def load(self, path: str, loader: str) -> None:
        """Read the model and its signature; it is compiled in `run`, once per input shape."""
        from ai_edge_litert.interpreter import Interpreter

        from converter.parity.runtimes.tflite_interpreter import signature_outputs

        with open(path, "rb") as handle:
            self.data = handle.read()
        interpreter = Interpreter(model_content=self.data)
        signatures = interpreter.get_signature_list()
        self.key = next(iter(signatures))
        self.inputs = list(signatures[self.key]["inputs"])
        self.outputs = signature_outputs(interpreter, self.key)

    def compile(self, data: bytes) -> None:
        """Compile for GPU with CPU fallback; note whether all of it runs on the GPU."""
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.gpu_options import GpuOptions
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import Options

        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
        options = Options(
            hardware_accelerators=HardwareAccelerator.GPU | HardwareAccelerator.CPU,
            gpu_options=GpuOptions(enforce_f32=self.enforce_f32),
        )
        try:
            self.model = CompiledModel.from_buffer(data, options=options)
        except RuntimeError as exc:
            if "modify graph with delegate" in str(exc):
                raise NotApplicable(refusal(data)) from exc
            if "Failed to load model" in str(exc) and has_variables(data):
                raise NotApplicable(VARIABLES) from exc
            raise
        accelerated = self.model.is_fully_accelerated()
        self.fully_accelerated = accelerated if self.fully_accelerated is None else (
            self.fully_accelerated and accelerated)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Compile for this case's shapes (a static copy of the file), write, run, read."""
        check_feeds(self.name, sorted(self.inputs), dict(sorted(feeds.items())))
        shapes = tuple(tuple(feeds[name].shape) for name in self.inputs)
        if shapes != self.compiled_for:
            self.compile(static_copy(self.data, dict(zip(self.inputs, shapes, strict=True))))
            self.compiled_for = shapes
        index = self.model.get_signature_index(self.key)
        inputs = self.model.create_input_buffers(index)
        outputs = self.model.create_output_buffers(index)
        # The compiled model's buffers follow the file's signature order (the interpreter's
        # signature list is sorted by name instead).
        signature = self.model.get_signature_list()[self.key]
        for buffer, name in zip(inputs, signature["inputs"], strict=True):
            buffer.write(np.ascontiguousarray(feeds[name]))
        self.model.run_by_index(index, inputs, outputs)
        details = self.model.get_output_tensor_details(self.key)
        signature_outputs = list(signature["outputs"])
        results = {}
        for buffer, name in zip(outputs, signature_outputs, strict=True):
            shape = [int(d) for d in details[name]["shape"]]
            dtype = np.dtype(details[name]["dtype"])
            results[name] = buffer.read(int(np.prod(shape)), dtype).reshape(shape)
        return [results[name] for name in self.outputs]

    def facts(self) -> dict[str, Any]:
        """What the report should know beyond the numbers."""
        return {"fully_accelerated": self.fully_accelerated}


class LitertGpuFp32(LitertGpuFp16):
    """GPU accelerator with enforce_f32: separates fp16 rounding from kernel bugs."""

    name = "litert-gpu-fp32"
    enforce_f32 = True


VARIABLES = ("LiteRT's CompiledModel loads no file with variable tensors (\"Variable tensors "
             "not yet supported\"), and UNIDIRECTIONAL_SEQUENCE_LSTM keeps its states in "
             "them: --static-shape --unroll-recurrent N unrolls LSTMs of at most N steps "
             "for the GPU")


def has_variables(data: bytes) -> bool:
    """Whether any subgraph of the file has a variable tensor."""
    from converter.export.flatbuffer import unpacked

    return any(t.isVariable for s in unpacked(data).subgraphs for t in s.tensors)


def refusal(data: bytes) -> str:
    """Why the GPU accelerator refused a file, as far as its ops tell."""
    from converter.export.op_counts import tflite_op_counts

    reason = ("the GPU accelerator refused the graph (LiteRT: failed to modify graph with "
              "delegate); ")
    if tflite_op_counts(data).get("WHILE"):
        return reason + ("the file's recurrent layers are WHILE loops, which it runs on the "
                         "CPU at best: --static-shape --unroll-recurrent N unrolls those of at "
                         "most N steps")
    return reason + ("it takes no run-time shape computations (see the artifact's delegate "
                     "checks: shape_ops, dynamic_inputs)")
