"""Seeded random ONNX graphs written the way tf2onnx writes Keras Conv1D models.

A Keras model keeps its tensors channels-last, (N, W, C); tf2onnx wraps each channels-first
op (Conv, MaxPool) in Transposes and leaves everything else channels-last. The generator
draws such graphs from convs, pools, activations, residual sums and products with earlier
tensors (several readers), Concats of channels, pads, crops, softmaxes, reductions with and
without kept axes, per-step MatMuls, and one or two outputs, at a static or dynamic length:
shapes nobody wrote by hand, for the layout passes to hold on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


@dataclass(frozen=True)
class Tensor:
    """A channels-last tensor of the Keras model: its name, channels and length (an id)."""

    name: str
    channels: int
    length: str


@dataclass
class Builder:
    """The graph under construction."""

    rng: np.random.Generator
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    count: int = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def node(self, op: str, inputs: list[str], **attrs: object) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def pick(self) -> Tensor:
        """A recent tensor, more often the latest (chains), sometimes an earlier one."""
        index = len(self.tensors) - 1 - min(int(self.rng.geometric(0.5)) - 1,
                                            len(self.tensors) - 1)
        return self.tensors[index]

    def channels_first(self, source: Tensor) -> str:
        return self.node("Transpose", [source.name], perm=[0, 2, 1])

    def back(self, value: str, channels: int, length: str) -> Tensor:
        result = Tensor(self.node("Transpose", [value], perm=[0, 2, 1]), channels, length)
        self.tensors.append(result)
        return result


def conv(b: Builder) -> None:
    source = b.pick()
    size = int(b.rng.choice([1, 3, 5]))
    dilation = int(b.rng.choice([1, 2])) if size > 1 else 1
    out = int(b.rng.integers(2, 7))
    reach = (size - 1) * dilation
    causal = bool(b.rng.integers(2))
    pads = [reach, 0] if causal else [reach // 2, reach - reach // 2]
    weights = b.const("w", b.rng.standard_normal((out, source.channels, size)).astype(np.float32))
    bias = b.const("b", b.rng.standard_normal(out).astype(np.float32))
    value = b.node("Conv", [b.channels_first(source), weights, bias], kernel_shape=[size],
                   pads=pads, dilations=[dilation])
    if b.rng.integers(2):
        value = b.node("Relu", [value])
    b.back(value, out, source.length)


def pool(b: Builder) -> None:
    source = b.pick()
    value = b.node("MaxPool", [b.channels_first(source)], kernel_shape=[2], strides=[2])
    b.back(value, source.channels, b.name("pooled"))


def unary(b: Builder) -> None:
    source = b.pick()
    op = str(b.rng.choice(["Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Elu"]))
    b.tensors.append(Tensor(b.node(op, [source.name]), source.channels, source.length))


def binary(b: Builder) -> None:
    source = b.pick()
    partners = [t for t in b.tensors if (t.channels, t.length) == (source.channels, source.length)
                and t is not source]
    op = str(b.rng.choice(["Add", "Mul", "Sub", "Max"]))
    if partners and b.rng.integers(3):
        other = partners[int(b.rng.integers(len(partners)))].name
    else:  # a per-channel constant, broadcast along the last axis
        other = b.const("c", b.rng.standard_normal(source.channels).astype(np.float32))
    b.tensors.append(Tensor(b.node(op, [source.name, other]), source.channels, source.length))


def concat(b: Builder) -> None:
    source = b.pick()
    partners = [t for t in b.tensors if t.length == source.length]
    other = partners[int(b.rng.integers(len(partners)))]
    value = b.node("Concat", [source.name, other.name], axis=2)
    b.tensors.append(Tensor(value, source.channels + other.channels, source.length))


def pad_or_crop(b: Builder) -> None:
    source = b.pick()
    if b.rng.integers(2):
        pads = b.const("pads", np.array([0, 1, 0, 0, 2, 0], np.int64))
        value = b.node("Pad", [source.name, pads])
    else:
        value = b.node("Slice", [source.name, b.const("s", np.array([1], np.int64)),
                                 b.const("e", np.array([-1], np.int64)),
                                 b.const("a", np.array([1], np.int64))])
    b.tensors.append(Tensor(value, source.channels, b.name("length")))


def softmax_or_reduce(b: Builder) -> None:
    source = b.pick()
    if b.rng.integers(2):
        value = b.node("Softmax", [source.name], axis=-1)
        b.tensors.append(Tensor(value, source.channels, source.length))
        return
    value = b.node("ReduceMean", [source.name], axes=[2], keepdims=1)
    scaled = b.node("Mul", [source.name, value]) if b.rng.integers(2) else value
    b.tensors.append(Tensor(scaled, source.channels if scaled != value else 1, source.length))


def per_step_dense(b: Builder) -> None:
    source = b.pick()
    out = int(b.rng.integers(2, 6))
    weights = b.const("dense", b.rng.standard_normal((source.channels, out)).astype(np.float32))
    b.tensors.append(Tensor(b.node("MatMul", [source.name, weights]), out, source.length))


STEPS = (conv, conv, conv, pool, unary, binary, binary, concat, pad_or_crop, softmax_or_reduce,
         per_step_dense)


def random_graph(seed: int, opset: int = 17) -> tuple[onnx.ModelProto, int]:
    """A random graph and the static length it takes (0: its length is dynamic)."""
    rng = np.random.default_rng(seed)
    b = Builder(rng)
    length = int(rng.choice([0, 24, 40]))
    b.tensors.append(Tensor("x", int(rng.integers(2, 6)), "input"))
    for _ in range(int(rng.integers(3, 12))):
        STEPS[int(rng.integers(len(STEPS)))](b)
    outputs = [b.tensors[-1].name]
    if rng.integers(2) and len(b.tensors) > 2:
        pooled = b.node("ReduceMax", [b.tensors[len(b.tensors) // 2].name], axes=[1],
                        keepdims=0)
        outputs.append(pooled)
    graph = helper.make_graph(
        b.nodes, f"random_{seed}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       ["N", length or "W", b.tensors[0].channels])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model, length
