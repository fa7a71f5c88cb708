"""Seeded random Keras models built around 1-D convolutions, for differential testing.

`build(seed, directory)` draws a functional model from the layers converter supports and
saves it: Keras 3 (.keras) or tf.keras (.h5). Convolutions with kernel_size in every form,
strides, dilations, padding valid/same/causal, groups, separable, depthwise and transposed
convs, channels_first convs; residual Add/Multiply/Subtract/Maximum/Average/Concatenate with
earlier tensors (several readers); BatchNormalization with trained statistics; activations;
pooling, cropping, padding, upsampling; LSTM/GRU/SimpleRNN (Bidirectional too); per-step
Dense; Dense heads; one or two inputs and outputs; a static or dynamic length. The same seed
gives the same model, so a failure replays from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MIN_LENGTH = 6  # every static length stays at least this long


@dataclass(frozen=True)
class Seq:
    """A (N, length, channels) tensor; `length` an int (static) or a tag (dynamic)."""

    tensor: Any
    channels: int
    length: int | str


@dataclass
class Draw:
    """The model under construction."""

    rng: np.random.Generator
    layers: Any  # keras.layers or tf_keras.layers
    keras3: bool
    seqs: list[Seq] = field(default_factory=list)
    count: int = 0

    def tag(self) -> str:
        self.count += 1
        return f"len{self.count}"

    def pick(self) -> Seq:
        """A recent sequence, most often the latest (chains), sometimes an earlier one."""
        back = min(int(self.rng.geometric(0.55)) - 1, len(self.seqs) - 1)
        return self.seqs[len(self.seqs) - 1 - back]

    def choice(self, options: list[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def add(self, tensor: Any, channels: int, length: int | str) -> None:
        self.seqs.append(Seq(tensor, channels, length))


def shorter(d: Draw, length: int | str, by: int) -> int | str | None:
    """The length after losing `by` steps; None when a static one would get too short."""
    if isinstance(length, str):
        return d.tag() if by else length
    return length - by if length - by >= MIN_LENGTH else None


def strided(d: Draw, length: int | str, stride: int, same: bool, reach: int) -> int | str | None:
    if isinstance(length, str):
        return d.tag() if stride > 1 or (not same and reach) else length
    out = -(-length // stride) if same else (length - reach - 1) // stride + 1
    return out if out >= MIN_LENGTH else None


def kernel_form(d: Draw, size: int) -> Any:
    return d.choice([size, (size,), [size]])


def conv(d: Draw) -> None:
    source = d.pick()
    size = d.choice([1, 2, 3, 5])
    padding = d.choice(["valid", "same", "causal"])
    dilation = d.choice([1, 1, 2, 4]) if size > 1 else 1
    stride = d.choice([1, 1, 2]) if dilation == 1 and padding != "causal" else 1
    groups = d.choice([g for g in (1, 2) if source.channels % g == 0])
    filters = d.choice([4, 6, 8]) if groups == 1 else 2 * d.choice([2, 3, 4])
    reach = (size - 1) * dilation
    length = strided(d, source.length, stride, padding != "valid", reach)
    if length is None:
        return
    layer = d.layers.Conv1D(filters, kernel_form(d, size), strides=stride, padding=padding,
                            dilation_rate=dilation, groups=groups,
                            activation=d.choice([None, "relu", "tanh"]))
    if d.keras3 and padding != "causal" and d.rng.random() < 0.2:  # a channels_first conv
        layer = d.layers.Conv1D(filters, kernel_form(d, size), strides=stride, padding=padding,
                                dilation_rate=dilation, data_format="channels_first")
        inner = layer(d.layers.Permute((2, 1))(source.tensor))
        d.add(d.layers.Permute((2, 1))(inner), filters, length)
        return
    d.add(layer(source.tensor), filters, length)


def special_conv(d: Draw) -> None:
    source = d.pick()
    kind = d.choice(["separable", "depthwise", "transpose"])
    size = d.choice([2, 3])
    if kind == "transpose":
        stride = d.choice([1, 2])
        padding = d.choice(["same", "valid"])
        grown: int | str = d.tag() if stride > 1 or padding == "valid" else source.length
        if isinstance(source.length, int):
            grown = source.length * stride if padding == "same" else (
                (source.length - 1) * stride + size)
        layer = d.layers.Conv1DTranspose(d.choice([4, 6]), size, strides=stride, padding=padding)
        d.add(layer(source.tensor), layer.filters, grown)
        return
    padding = d.choice(["valid", "same"])
    length = strided(d, source.length, 1, padding == "same", size - 1)
    if length is None:
        return
    if kind == "separable":
        layer = d.layers.SeparableConv1D(d.choice([4, 8]), size, padding=padding,
                                         depth_multiplier=d.choice([1, 2]))
        d.add(layer(source.tensor), layer.filters, length)
    else:
        multiplier = d.choice([1, 2])
        layer = d.layers.DepthwiseConv1D(size, padding=padding, depth_multiplier=multiplier)
        d.add(layer(source.tensor), source.channels * multiplier, length)


def norm_or_activation(d: Draw) -> None:
    source = d.pick()
    layer = d.choice([
        lambda: d.layers.BatchNormalization(),
        lambda: d.layers.Activation(d.choice(["relu", "sigmoid", "tanh", "elu", "softplus"])),
        lambda: d.layers.LeakyReLU(),
        lambda: d.layers.Dropout(0.3),
        lambda: d.layers.Dense(d.choice([3, 5, 8]), activation=d.choice([None, "relu"])),
    ])()
    channels = getattr(layer, "units", source.channels)
    d.add(layer(source.tensor), channels, source.length)


def resize(d: Draw) -> None:
    source = d.pick()
    kind = d.choice(["maxpool", "avgpool", "crop", "pad", "upsample"])
    if kind in ("maxpool", "avgpool"):
        padding = d.choice(["valid", "same"])
        length = strided(d, source.length, 2, padding == "same", 1)
        cls = d.layers.MaxPooling1D if kind == "maxpool" else d.layers.AveragePooling1D
        if length is not None:
            d.add(cls(2, padding=padding)(source.tensor), source.channels, length)
    elif kind == "crop":
        length = shorter(d, source.length, 2)
        if length is not None:
            d.add(d.layers.Cropping1D((1, 1))(source.tensor), source.channels, length)
    elif kind == "pad":
        grown = source.length + 3 if isinstance(source.length, int) else d.tag()
        d.add(d.layers.ZeroPadding1D((1, 2))(source.tensor), source.channels, grown)
    else:
        grown = source.length * 2 if isinstance(source.length, int) else d.tag()
        d.add(d.layers.UpSampling1D(2)(source.tensor), source.channels, grown)


def merge(d: Draw) -> None:
    source = d.pick()
    same = [s for s in d.seqs if (s.length, s.channels) == (source.length, source.channels)]
    if len(same) > 1 and d.rng.random() < 0.7:
        other = d.choice([s for s in same if s is not source])
        cls = d.choice([d.layers.Add, d.layers.Multiply, d.layers.Subtract, d.layers.Maximum,
                        d.layers.Average])
        d.add(cls()([source.tensor, other.tensor]), source.channels, source.length)
        return
    along = [s for s in d.seqs if s.length == source.length]
    other = d.choice(along)
    d.add(d.layers.Concatenate()([source.tensor, other.tensor]),
          source.channels + other.channels, source.length)


def recurrent(d: Draw) -> None:
    source = d.pick()
    units = d.choice([4, 6])
    cls = d.choice([d.layers.LSTM, d.layers.GRU, d.layers.SimpleRNN])
    layer = cls(units, return_sequences=True)
    if d.rng.random() < 0.4:
        layer = d.layers.Bidirectional(layer)
        units *= 2
    d.add(layer(source.tensor), units, source.length)


STEPS = (conv, conv, conv, special_conv, norm_or_activation, norm_or_activation, resize,
         merge, merge, recurrent)


def heads(d: Draw) -> list[Any]:
    """One or two outputs: a pooled or flattened Dense head, and maybe a per-step one."""
    last = d.seqs[-1]
    if isinstance(last.length, int) and d.rng.random() < 0.4:
        pooled = d.layers.Flatten()(last.tensor)
    else:
        cls = d.choice([d.layers.GlobalMaxPooling1D, d.layers.GlobalAveragePooling1D])
        pooled = cls()(last.tensor)
    outputs = [d.layers.Dense(d.choice([2, 3]), activation=d.choice([None, "softmax"]),
                              name="pooled_head")(pooled)]
    if d.rng.random() < 0.3:
        middle = d.seqs[len(d.seqs) // 2]
        outputs.append(d.layers.Dense(2, name="step_head")(middle.tensor))
    return outputs


def build(seed: int, directory: Path) -> Path:
    """Draw model `seed`, give its BatchNormalizations trained statistics, and save it."""
    rng = np.random.default_rng(seed)
    keras3 = bool(rng.integers(4))  # 3 in 4 Keras 3, 1 in 4 tf.keras
    if keras3:
        import keras as library
    else:
        import tf_keras as library
    d = Draw(rng, library.layers, keras3)
    length: int | None = int(d.choice([16, 24, 33])) if rng.random() < 0.5 else None
    inputs = []
    for index in range(1 + int(rng.random() < 0.25)):
        channels = int(d.choice([1, 2, 3, 4]))
        tensor = library.Input((length, channels), name=f"input_{index}")
        inputs.append(tensor)
        d.add(tensor, channels, length if length is not None else "input")
    for _ in range(int(rng.integers(2, 9))):
        d.choice(list(STEPS))(d)
    model = library.Model(inputs, heads(d), name=f"random_{seed}")
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.2, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, variance.shape)])
    path = directory / (f"random_{seed}.keras" if keras3 else f"random_{seed}.h5")
    model.save(path)
    return path
