"""Options of each command, as frozen dataclasses that map one-to-one to CLI flags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converter.errors import UsageError

TARGETS = ("tflite", "onnx")
PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8")
# The default matrix: the reference, the rebuilt graph, the NumPy interpreter, every LiteRT
# interpreter and onnxruntime configuration, and the mobile GPU path (LiteRT's GPU
# accelerator at fp16 and fp32), which is `skipped` where no Vulkan driver is installed or
# the accelerator refuses the file. On a machine without a GPU it runs on Mesa's software
# driver: ~0.5 s per check on the samples, ~3 s on SpliceAI.
DEFAULT_RUNTIMES = ("keras", "keras-normalized", "numpy", "tflite-xnnpack", "tflite-builtin",
                    "tflite-reference", "ort-cpu", "ort-cpu-noopt", "onnx-reference",
                    "litert-gpu-fp16", "litert-gpu-fp32")
GPU_RUNTIMES = ("litert-gpu-fp16", "litert-gpu-fp32")
SOURCE_BACKENDS = ("tensorflow", "theano")
# tf2onnx 1.17 writes opsets 9 to 18 (tf2onnx.constants.OPSET_TO_IR_VERSION, minus <9).
OPSETS = tuple(range(9, 19))
IO_LAYOUTS = ("source", "channels_last")
# How the planted-defect copies run: on the optimised CPU runtimes, on every runtime, or not.
POWER_MODES = ("auto", "full", "off")
# How ONNX convolutions are lowered: the form onnxruntime runs fastest (Conv2Ds at a dynamic
# length, rows for wide dilations), or native 1-D Convs throughout (other ONNX runtimes).
ONNX_LOWERINGS = ("onnxruntime", "native")


@dataclass(frozen=True)
class ConvertOptions:
    """What `converter convert` does.

    Attributes:
        output_dir: where artifacts and report.json go; created only on success of loading.
        to: export targets, any of TARGETS.
        precision: TFLite precisions, any of PRECISIONS (one file each).
        opset: ONNX opset handed to tf2onnx (OPSETS).
        onnx_lowering: ONNX_LOWERINGS: convolutions in the form onnxruntime runs fastest,
            or native 1-D Convs throughout.
        calibration: an .npz full int8 calibrates on; None calibrates on the parity inputs.
        static_shape: fix the batch axis to `static_batch` and every dynamic length to
            `static_length`, for delegates that need static tensors.
        static_batch: the batch size under static_shape.
        static_length: the sequence length under static_shape (needed for dynamic ones).
        dynamic_length: leave every sequence input's steps axis dynamic, whatever length
            the model declares (refused where a layer ties the model to it); with
            static_shape, the files then take `static_length` steps instead.
        unroll_recurrent: TFLite unrolls a recurrent layer whose static length is at most
            this many steps, instead of its fused op or loop (0, the default: unrolls
            nothing; README "Recurrent layers" measures what unrolling costs and gains).
        io_layout: "source" keeps a channels_first model's input/output layout;
            "channels_last" gives the files channels_last inputs and outputs.
        runtimes: parity runtimes asked for by name; empty means DEFAULT_RUNTIMES. A runtime
            asked for by name that cannot run here makes the exit code 4; one of the defaults
            that cannot is reported `skipped` without changing the exit code.
        inputs: an .npz of parity inputs; None draws seeded synthetic ones that keep the
            outputs informative (parity/search.py).
        seed: seed of the synthetic inputs.
        batch_size: batch of the synthetic inputs.
        allow_inconclusive: an inconclusive check (its reference carried no information)
            does not fail the conversion; it is still reported.
        power: POWER_MODES: planted-defect copies of each file run through the optimised
            CPU checks ("auto"), every check ("full"), or none ("off").
        per_layer: compare every layer's output in each file with the NumPy reference's.
        lengths: sequence lengths tried for inputs whose length is dynamic.
        timeout_s: time limit of each runtime's worker process.
        arch: architecture file (JSON/YAML) for a weights-only .h5.
        source_backend: "theano" or "tensorflow" overrides how legacy kernels are read.
        allow_lambda: run Lambda layers' stored bytecode (an explicit, reported opt-in).
        custom_objects: "module:Class" specs of layer classes the user vouches for.
    """

    output_dir: Path = Path("converted")
    to: tuple[str, ...] = TARGETS
    precision: tuple[str, ...] = ("fp32",)
    opset: int = 17
    onnx_lowering: str = "onnxruntime"
    runtimes: tuple[str, ...] = ()
    inputs: Path | None = None
    seed: int = 0
    batch_size: int = 4
    lengths: tuple[int, ...] = (32, 97)
    timeout_s: float = 300.0
    arch: Path | None = None
    source_backend: str | None = None
    allow_lambda: bool = False
    custom_objects: tuple[str, ...] = ()
    calibration: Path | None = None
    static_shape: bool = False
    static_batch: int = 1
    static_length: int | None = None
    dynamic_length: bool = False
    unroll_recurrent: int = 0
    io_layout: str = "source"
    allow_inconclusive: bool = False
    power: str = "auto"
    per_layer: bool = False

    def __post_init__(self) -> None:
        # Paths given as strings (the API's users do) become Paths, once, here.
        for name in ("output_dir", "inputs", "arch", "calibration"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        for name in ("to", "precision", "runtimes", "lengths", "custom_objects"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.check_choices()
        self.check_numbers()
        self.check_runtimes()

    def check_choices(self) -> None:
        """Every option that names one of a closed set names a member of it."""
        for flag, values, allowed, rule in (
                ("--to", self.to, TARGETS, "name one or more of"),
                ("--precision", self.precision, PRECISIONS, "be one of")):
            if not values or any(v not in allowed for v in values):
                raise UsageError(f"{flag} must {rule} {', '.join(allowed)}; received {values}")
        for flag, value, choices in (
                ("--onnx-lowering", self.onnx_lowering, ONNX_LOWERINGS),
                ("--power", self.power, POWER_MODES), ("--io-layout", self.io_layout, IO_LAYOUTS),
                ("--source-backend", self.source_backend, (None, *SOURCE_BACKENDS))):
            if value not in choices:
                named = ", ".join(c for c in choices if c is not None)
                raise UsageError(f"{flag} must be one of {named}; received {value!r}")
        if self.opset not in OPSETS:
            raise UsageError(f"--opset must be between {OPSETS[0]} and {OPSETS[-1]} (what "
                             f"tf2onnx 1.17 writes); received {self.opset}")

    def check_numbers(self) -> None:
        """Sizes, lengths and time limits are positive."""
        if self.static_batch < 1 or (self.static_length is not None and self.static_length < 1):
            raise UsageError(f"--static-batch and --static-length must be positive; received "
                             f"{self.static_batch} and {self.static_length}")
        if not self.static_shape and (self.static_length is not None or self.static_batch != 1):
            raise UsageError("--static-batch and --static-length apply only with --static-shape "
                             "(the files then take exactly that shape); add --static-shape or "
                             "drop them")
        if self.unroll_recurrent < 0:
            raise UsageError(f"--unroll-recurrent must be 0 or more steps; received "
                             f"{self.unroll_recurrent}")
        if self.batch_size < 1 or any(n < 1 for n in self.lengths) or not self.lengths:
            raise UsageError(
                f"batch size and lengths must be positive; received batch_size={self.batch_size}, "
                f"lengths={self.lengths}"
            )
        if self.timeout_s <= 0:
            raise UsageError(f"--timeout must be positive; received {self.timeout_s}")

    def check_runtimes(self) -> None:
        """The runtimes asked for exist, and one besides the reference checks something."""
        from converter.parity.runtimes import REGISTRY

        unknown_runtimes = [r for r in self.selected_runtimes() if r not in REGISTRY]
        if unknown_runtimes:
            raise UsageError(
                f"unknown runtime {unknown_runtimes[0]!r}; "
                f"choose from {', '.join(sorted(REGISTRY))}"
            )
        if not [r for r in self.selected_runtimes() if r != "keras"]:
            raise UsageError(
                f"--runtime must name at least one runtime besides the keras reference; "
                f"received {self.runtimes}"
            )

    def selected_runtimes(self) -> tuple[str, ...]:
        """The runtimes asked for, or the default matrix."""
        return self.runtimes or DEFAULT_RUNTIMES
