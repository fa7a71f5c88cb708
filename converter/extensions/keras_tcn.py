"""keras-tcn's `TCN` layer as built-in layers, from its config and stored weights alone.

What a TCN computes (keras-tcn 3.0 to 3.5.7, read from its source): an optional reversal
in time (`go_backwards`), then `nb_stacks` x `dilations` residual blocks, each
    x1 = [conv1D_k (dilated, causal or same) -> batch or layer norm -> activation
          -> SpatialDropout1D] for k = 0, 1, then (3.1.2 on) the activation once more
    x2 = matching_conv1D (1x1, where the filters differ from the input's) or the input
    out = activation(x2 + x1); the block's skip output is x1,
then the sum of the skip outputs (`use_skip_connections`) or the last block's output, and
without `return_sequences` one step: the last (causal) or the middle (same). Up to 3.1.1
the activation inside the blocks is always relu and there is no second one; those versions
wrote neither `use_weight_norm` nor `go_backwards`, which tells them apart. Dropout is the
identity at inference. `use_weight_norm` (tensorflow-addons' WeightNormalization, 3.1.2 to
3.5.4, around each dilated conv) is folded into the kernel: g * v / ||v|| over each
filter's taps and inputs (its `data_dep_init` copy of the conv is left alone).
Weights are found by where they were stored (a Keras 3 archive's `residual_block_0/
conv1D_0/vars/0`, a Keras 2 file's `residual_block_0/conv1D_0/kernel:0`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.artifacts import Layer, LayerCall, TensorRef
from converter.errors import LoadError
from converter.extensions.interface import Fragment, StoredWeights, require_keys
from converter.layers.spec import Shape

KEYS = ("name", "trainable", "dtype", "batch_input_shape", "batch_shape", "input_shape",
        "nb_filters", "kernel_size", "nb_stacks", "dilations", "padding",
        "use_skip_connections", "dropout_rate", "return_sequences", "activation",
        "kernel_initializer", "use_batch_norm", "use_layer_norm", "use_weight_norm",
        "go_backwards", "return_state")
CONV = ("kernel", "bias")
NORMS = {"batch": ("gamma", "beta", "moving_mean", "moving_variance"),
         "layer": ("gamma", "beta")}
EVERYTHING = {"start": None, "stop": None, "step": None}


def by_role(stored: list[tuple[str, np.ndarray]], roles: tuple[str, ...]) -> dict[str, Any]:
    """Stored arrays by role.

    A Keras 3 archive numbers them (`vars/0`) in `roles` order; a Keras 2 file names them
    (`kernel:0`, tensorflow-addons' `g:0`).
    """
    found: dict[str, Any] = {}
    for rest, array in stored:
        if "/" in rest and not rest.startswith("vars/"):
            continue  # a sub-layer's (tensorflow-addons' data_dep_init copy of the conv)
        leaf = rest.rsplit("/", 1)[-1]
        if leaf.isdigit() and int(leaf) < len(roles):
            found[roles[int(leaf)]] = array
        else:
            found[leaf.split(":")[0]] = array
    return found


def natural(name: str) -> tuple[str, int]:
    """`batch_normalization_1` after `batch_normalization`, `_10` after `_9`."""
    match = re.match(r"(.*?)(?:_(\d+))?$", name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


@dataclass
class Builder:
    """Collects the fragment's layers as the TCN's computation is written down."""

    tcn: Layer
    weights: StoredWeights
    layers: list[Layer] = field(default_factory=list)

    def add(self, name: str, class_name: str, config: dict[str, Any], inputs: list[TensorRef],
            weights: tuple[np.ndarray, ...] = ()) -> TensorRef:
        """Append one built-in layer reading `inputs`; its output."""
        full = f"{self.tcn.name}.{name}"
        self.layers.append(Layer(full, class_name, {"name": full, "dtype": "float32", **config},
                                 (LayerCall(tuple(inputs), len(inputs) > 1),), weights))
        return TensorRef(full)

    def stored(self, prefix: str, roles: tuple[str, ...]) -> dict[str, Any]:
        """The arrays stored under `prefix`, by role; a LoadError where there are none."""
        found = by_role(self.weights.under(prefix), roles)
        if not found:
            raise LoadError(f"layer {self.tcn.name} (TCN): no weights stored under {prefix}")
        return found

    def conv(self, block: str, part: str, x: TensorRef, kernel_size: int, dilation: int,
             padding: str, weight_norm: bool) -> TensorRef:
        """One Conv1D of a block, its weight normalisation folded."""
        found = self.stored(f"{block}/{part}", CONV)
        kernel = np.asarray(found["kernel"], np.float32)
        if weight_norm:
            if "g" not in found:
                raise LoadError(f"layer {self.tcn.name} (TCN): use_weight_norm is set but "
                                f"{block}/{part} stores no weight-norm scale g")
            # tf.nn.l2_normalize over the taps and inputs of each filter, as tfa computes it.
            squares = np.sum(kernel.astype(np.float64) ** 2, axis=(0, 1))
            kernel = (kernel * (np.asarray(found["g"]) / np.sqrt(np.maximum(
                squares, 1e-12)))).astype(np.float32)
        config = {"filters": int(kernel.shape[-1]), "kernel_size": (kernel_size,),
                  "strides": (1,), "padding": padding, "data_format": "channels_last",
                  "dilation_rate": (dilation,), "groups": 1, "activation": "linear",
                  "use_bias": True}
        return self.add(f"{block}.{part}", "Conv1D", config, [x],
                        (kernel, np.asarray(found["bias"], np.float32)))

    def norm(self, block: str, k: int, kind: str, x: TensorRef) -> TensorRef:
        """The k-th batch or layer normalisation of a block."""
        groups = {rest.split("/", 1)[0] for rest, _ in self.weights.under(
            f"{block}/{kind}_norm_layers")}
        if groups:  # a Keras 3 archive: the block's norms as a list, in creation order
            prefix = f"{block}/{kind}_norm_layers/{sorted(groups, key=natural)[k]}"
        else:
            prefix = f"{block}/norm_{k}"
        found = self.stored(prefix, NORMS[kind])
        arrays = tuple(np.asarray(found[role], np.float32) for role in NORMS[kind])
        class_name = "BatchNormalization" if kind == "batch" else "LayerNormalization"
        return self.add(f"{block}.norm_{k}", class_name, {"axis": -1, "epsilon": 1e-3}, [x],
                        arrays)

    def activation(self, name: str, function: Any, x: TensorRef) -> TensorRef:
        """An Activation layer."""
        return self.add(name, "Activation", {"activation": function}, [x])

    def table(self, name: str, function: str, x: TensorRef, **arguments: Any) -> TensorRef:
        """A TF-op table function on one tensor (layers.tf_ops)."""
        first = "tensor"
        return self.add(name, "TFOp", {"function": function,
                                       "arguments": {first: {"__tensor__": 0}, **arguments}},
                        [x])


@dataclass(frozen=True)
class Settings:
    """The TCN config keys that shape the computation."""

    kernel_size: int
    padding: str
    activation: Any
    inner_activation: Any
    second_activation: bool
    norm: str
    weight_norm: bool


def settings(tcn: Layer) -> Settings:
    """A TCN config read as keras-tcn's version that wrote it computes."""
    config = tcn.config
    modern = "use_weight_norm" in config or "go_backwards" in config  # 3.1.2 and later
    activation = config.get("activation", "relu")
    norm = "batch" if config.get("use_batch_norm") else "layer" if config.get(
        "use_layer_norm") else ""
    padding = str(config.get("padding", "causal"))
    if padding not in ("causal", "same"):
        raise LoadError(f"layer {tcn.name} (TCN): padding {padding!r}; keras-tcn takes "
                        "'causal' or 'same'")
    return Settings(int(config.get("kernel_size", 3)), padding, activation,
                    activation if modern else "relu", modern, norm,
                    bool(config.get("use_weight_norm")))


def dilations(config: Any) -> list[int]:
    """The block dilations as the layer uses them.

    keras-tcn rewrites exponents to powers of two only in its `compiled_tcn` helper, before
    the layer is made; the layer's config holds what it used.
    """
    return [int(d) for d in config.get("dilations", (1, 2, 4, 8, 16, 32))]


def residual_block(build: Builder, index: int, dilation: int, x: TensorRef,
                   how: Settings) -> tuple[TensorRef, TensorRef]:
    """One residual block: (its output, its skip output)."""
    block = f"residual_block_{index}"
    x1 = x
    for k in range(2):
        x1 = build.conv(block, f"conv1D_{k}", x1, how.kernel_size, dilation, how.padding,
                        how.weight_norm)
        if how.norm:
            x1 = build.norm(block, k, how.norm, x1)
        x1 = build.activation(f"{block}.Act_Conv1D_{k}", how.inner_activation, x1)
    if how.second_activation:
        x1 = build.activation(f"{block}.Act_Conv_Blocks", how.activation, x1)
    x2 = x
    if build.weights.under(f"{block}/matching_conv1D"):
        x2 = build.conv(block, "matching_conv1D", x, 1, 1, "same", False)  # never wrapped
    total = build.add(f"{block}.Add_Res", "Add", {}, [x2, x1])
    return build.activation(f"{block}.Act_Res_Block", how.activation, total), x1


class KerasTcn:
    """keras-tcn's TCN (see the module docstring)."""

    class_names: tuple[str, ...] = ("TCN",)
    library: str = "keras-tcn"
    # Where keras-tcn is installed, importing it lets Keras load the original as reference.
    reference_module = "tcn"

    def expand(self, layer: Layer, inputs: tuple[TensorRef, ...], weights: StoredWeights,
               shapes: tuple[Shape | None, ...]) -> Fragment:
        """The TCN's residual blocks as Conv1D, norm, Activation and Add layers."""
        require_keys(layer, KEYS)
        how, config = settings(layer), layer.config
        build = Builder(layer, weights)
        x = inputs[0]
        if config.get("go_backwards"):
            x = build.table("reversed", "reverse", x, axis=[1])
        skips = []
        steps = dilations(config) * int(config.get("nb_stacks", 1))
        for index, dilation in enumerate(steps):
            x, skip = residual_block(build, index, dilation, x, how)
            skips.append(skip)
        if config.get("use_skip_connections", True) and len(skips) > 1:
            x = build.add("Add_Skip_Connections", "Add", {}, skips)
        elif config.get("use_skip_connections", True):
            x = skips[0]
        if not config.get("return_sequences", False):
            x = build.table("Slice_Output", "__operators__.getitem", x, slice_spec=[
                EVERYTHING, output_step(layer, how, shapes), EVERYTHING])
        notes = (f"keras-tcn TCN -> {len(build.layers)} built-in layers ({len(steps)} "
                 f"residual blocks{', weight norm folded' if how.weight_norm else ''})",)
        return Fragment(tuple(build.layers), (x,), notes)


def output_step(layer: Layer, how: Settings, shapes: tuple[Shape | None, ...]) -> int:
    """The step a TCN without return_sequences returns: the last, or (same) the middle."""
    if how.padding == "causal":
        return -1
    shape = shapes[0] if shapes else None
    if shape is None or shape[0] is None:
        raise LoadError(f"layer {layer.name} (TCN): padding 'same' without return_sequences "
                        "returns the middle step of a length only known at run time; fix the "
                        "input length (--static-length, or the model's input shape)")
    return int(shape[0]) // 2


EXPANSION = KerasTcn()
