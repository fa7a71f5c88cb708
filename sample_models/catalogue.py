"""Seeded builders of the sample models: the fixtures of tests, benchmarks and the demo.

Each builder takes the Keras module to build with (`keras` for Keras 3, `tf_keras` for
Keras 2), so the same network is written by both libraries with explicit layer names and
identical weights drawn from NumPy, not from either library's initialisers.
`scripts/make_samples.py` writes every entry as `files/<name>.keras` and `files/<name>.h5`.
An entry whose `unsupported` is set documents a stage that does not handle it yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

Builder = Callable[[ModuleType], Any]


@dataclass(frozen=True)
class Sample:
    """One catalogue entry.

    Attributes:
        name: file stem under `sample_models/files/`.
        build: returns an un-weighted model built with the given Keras module.
        tags: what the model exercises.
        seed: seed of its weights.
        config_forms: layer name -> {config key: value} written into the saved configs
            verbatim, to reproduce forms a live Keras object never emits (an int kernel_size).
        keras3: False when only tf.keras can build the model (channels_first on CPU).
        unsupported: why the conversion pipeline cannot handle it yet ("" when it can).
        fp32_atol: the largest fp32 error (max abs, any runtime) the model must stay under;
            measured errors are <= 1e-6 on every supported entry.
    """

    name: str
    build: Builder
    tags: tuple[str, ...]
    seed: int
    config_forms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    keras3: bool = True
    unsupported: str = ""
    fp32_atol: float = 1e-5


def supported() -> list[Sample]:
    """The entries the pipeline converts today."""
    return [s for s in CATALOGUE.values() if not s.unsupported]


def text_conv1d(k: ModuleType) -> Any:
    """The classic: 6 tokens x 8-dim vectors, Conv1D(filters=5, kernel_size=3) -> 4 x 5."""
    x = k.Input(shape=(6, 8), name="tokens")
    y = k.layers.Conv1D(filters=5, kernel_size=3, name="conv")(x)
    return k.Model(x, y, name="text_conv1d")


def kim_cnn(k: ModuleType) -> Any:
    """Kim (2014): Embedding, parallel Conv1D of widths 3/4/5, max-over-time, concatenate."""
    x = k.Input(shape=(24,), dtype="int32", name="token_ids")
    e = k.layers.Embedding(60, 16, name="embedding")(x)
    pooled = []
    for width in (3, 4, 5):
        c = k.layers.Conv1D(8, width, activation="relu", name=f"conv_w{width}")(e)
        pooled.append(k.layers.GlobalMaxPooling1D(name=f"maxpool_w{width}")(c))
    h = k.layers.Concatenate(name="concat")(pooled)
    h = k.layers.Dropout(0.5, name="dropout")(h)
    y = k.layers.Dense(2, activation="softmax", name="classes")(h)
    return k.Model(x, y, name="kim_cnn")


def ecg_classifier(k: ModuleType) -> Any:
    """A deep ECG-style classifier: Conv1D / BatchNormalization / ReLU / pooling stacks."""
    x = k.Input(shape=(180, 1), name="ecg")
    h = x
    for i, (filters, width) in enumerate(((16, 7), (32, 5), (32, 3))):
        h = k.layers.Conv1D(filters, width, padding="same", name=f"conv{i}")(h)
        h = k.layers.BatchNormalization(name=f"bn{i}")(h)
        h = k.layers.ReLU(name=f"relu{i}")(h)
        pool = k.layers.MaxPooling1D if i % 2 == 0 else k.layers.AveragePooling1D
        h = pool(2, name=f"pool{i}")(h)
    h = k.layers.GlobalAveragePooling1D(name="gap")(h)
    h = k.layers.Dropout(0.3, name="dropout")(h)
    y = k.layers.Dense(5, activation="softmax", name="rhythm")(h)
    return k.Model(x, y, name="ecg_classifier")


def tcn(k: ModuleType) -> Any:
    """A dynamic-length causal dilated residual TCN: 5 Conv1D of 16 channels."""
    x = k.Input(shape=(None, 3), name="series")
    h = k.layers.Conv1D(16, 1, name="stem")(x)
    for d in (1, 2, 4):
        c = k.layers.Conv1D(
            16, 3, padding="causal", dilation_rate=d, activation="relu", name=f"dilated{d}"
        )(h)
        h = k.layers.Add(name=f"residual{d}")([h, c])
    y = k.layers.Conv1D(1, 1, name="head")(h)
    return k.Model(x, y, name="tcn")


def wavenet_block(k: ModuleType) -> Any:
    """Gated WaveNet blocks: tanh(filter) x sigmoid(gate), residual and skip paths."""
    x = k.Input(shape=(64, 1), name="audio")
    h = k.layers.Conv1D(12, 2, padding="causal", name="causal_in")(x)
    skips = []
    for d in (1, 2, 4):
        f = k.layers.Conv1D(12, 2, dilation_rate=d, padding="causal", activation="tanh",
                            name=f"filter{d}")(h)
        g = k.layers.Conv1D(12, 2, dilation_rate=d, padding="causal", activation="sigmoid",
                            name=f"gate{d}")(h)
        z = k.layers.Multiply(name=f"gated{d}")([f, g])
        skips.append(k.layers.Conv1D(12, 1, name=f"skip{d}")(z))
        h = k.layers.Add(name=f"res{d}")([h, k.layers.Conv1D(12, 1, name=f"res_proj{d}")(z)])
    s = k.layers.Add(name="skip_sum")(skips)
    s = k.layers.Activation("relu", name="skip_relu")(s)
    y = k.layers.Conv1D(4, 1, activation="softmax", name="logits")(s)
    return k.Model(x, y, name="wavenet_block")


def conv_bilstm(k: ModuleType) -> Any:
    """Conv1D feature extractor followed by a Bidirectional LSTM."""
    x = k.Input(shape=(40, 4), name="frames")
    h = k.layers.Conv1D(16, 5, activation="relu", name="conv")(x)
    h = k.layers.MaxPooling1D(2, name="pool")(h)
    h = k.layers.Bidirectional(k.layers.LSTM(8, name="lstm"), name="bilstm")(h)
    y = k.layers.Dense(3, activation="softmax", name="classes")(h)
    return k.Model(x, y, name="conv_bilstm")


def multi_io(k: ModuleType) -> Any:
    """Two inputs (a signal and tabular metadata), two outputs (class and regression)."""
    sig = k.Input(shape=(64, 2), name="signal")
    meta = k.Input(shape=(4,), name="meta")
    h = k.layers.Conv1D(8, 5, strides=2, activation="relu", name="conv")(sig)
    h = k.layers.GlobalMaxPooling1D(name="gmp")(h)
    m = k.layers.Dense(8, activation="relu", name="meta_dense")(meta)
    z = k.layers.Concatenate(name="fuse")([h, m])
    cls = k.layers.Dense(3, activation="softmax", name="label")(z)
    reg = k.layers.Dense(1, name="score")(z)
    return k.Model([sig, meta], [cls, reg], name="multi_io")


def autoencoder(k: ModuleType) -> Any:
    """SeparableConv1D encoder, Conv1DTranspose decoder."""
    x = k.Input(shape=(32, 1), name="window")
    h = k.layers.SeparableConv1D(8, 3, padding="same", activation="relu", name="sep")(x)
    h = k.layers.MaxPooling1D(2, name="down")(h)
    h = k.layers.Conv1D(4, 3, padding="same", activation="relu", name="code")(h)
    h = k.layers.Conv1DTranspose(8, 3, strides=2, padding="same", activation="relu",
                                 name="up")(h)
    y = k.layers.Conv1D(1, 3, padding="same", name="recon")(h)
    return k.Model(x, y, name="autoencoder")


def kernel_forms(k: ModuleType) -> Any:
    """kernel_size / strides / dilation_rate / pool_size written as int, tuple and list."""
    x = k.Input(shape=(48, 3), name="sensor")
    h = k.layers.Conv1D(6, 3, name="as_int")(x)
    h = k.layers.Conv1D(6, (5,), strides=(1,), name="as_tuple")(h)
    h = k.layers.Conv1D(6, [3], dilation_rate=[2], name="as_list")(h)
    h = k.layers.MaxPooling1D(pool_size=2, strides=2, name="pool_int")(h)
    h = k.layers.Flatten(name="flatten")(h)
    y = k.layers.Dense(2, name="out")(h)
    return k.Model(x, y, name="kernel_forms")


def channels_first(k: ModuleType) -> Any:
    """channels_first: dilated Conv1D, BatchNormalization(axis=1), pooling, Flatten -> Dense."""
    x = k.Input(shape=(4, 50), name="channels")
    h = k.layers.Conv1D(8, 3, dilation_rate=2, data_format="channels_first", name="conv")(x)
    h = k.layers.BatchNormalization(axis=1, name="bn")(h)
    h = k.layers.MaxPooling1D(2, data_format="channels_first", name="pool")(h)
    h = k.layers.Flatten(name="flatten")(h)
    y = k.layers.Dense(3, name="out")(h)
    return k.Model(x, y, name="channels_first")


CATALOGUE: dict[str, Sample] = {
    s.name: s
    for s in (
        Sample("text_conv1d", text_conv1d, ("conv1d", "static"), seed=1),
        Sample("kim_cnn", kim_cnn, ("embedding", "branches", "concatenate", "classifier"), 2),
        Sample("ecg_classifier", ecg_classifier, ("batchnorm", "pooling", "classifier"), 3),
        Sample("tcn", tcn, ("dynamic-length", "causal", "dilated", "residual"), 4),
        Sample("wavenet_block", wavenet_block, ("gated", "causal", "dilated", "multiply"), 5),
        Sample(
            "conv_bilstm",
            conv_bilstm,
            ("recurrent", "bidirectional"),
            6,
        ),
        Sample("multi_io", multi_io, ("multi-input", "multi-output", "strided"), 7),
        Sample("autoencoder", autoencoder, ("separable", "transpose", "autoencoder"), 8),
        Sample(
            "kernel_forms",
            kernel_forms,
            ("kernel-size-forms", "flatten"),
            9,
            config_forms={
                "as_int": {"kernel_size": 3, "strides": 1},
                "as_list": {"kernel_size": [3], "dilation_rate": [2]},
                "pool_int": {"pool_size": 2, "strides": 2},
            },
        ),
        Sample(
            "channels_first",
            channels_first,
            ("channels-first", "dilated", "flatten"),
            10,
        ),
    )
}
