"""Write Keras 1.x files with h5py, in Keras 1's own layout, and compute their outputs by hand.

The expected outputs here use nothing from converter: a Theano-trained Convolution1D is a
true convolution (kernel flipped along its length), a TensorFlow-trained one a
cross-correlation, so the same stored kernel must give different numbers per backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

LENGTH, CHANNELS, FILTERS, WIDTH, UNITS = 12, 3, 4, 5, 2


def layers_config(input_name: bool = False) -> list[dict]:
    """A Keras 1 Sequential: Convolution1D -> MaxPooling1D -> Dropout -> Flatten -> Dense."""
    return [
        {"class_name": "Convolution1D", "config": {
            "name": "convolution1d_1", "batch_input_shape": [None, LENGTH, CHANNELS],
            "input_dtype": "float32", "nb_filter": FILTERS, "filter_length": WIDTH,
            "border_mode": "valid", "subsample_length": 1, "activation": "relu",
            "init": "glorot_uniform", "bias": True, "W_regularizer": None, "b_regularizer": None,
            "activity_regularizer": None, "W_constraint": None, "b_constraint": None,
            "input_dim": CHANNELS, "input_length": LENGTH, "trainable": True}},
        {"class_name": "MaxPooling1D", "config": {
            "name": "maxpooling1d_1", "pool_length": 2, "stride": None, "border_mode": "valid",
            "trainable": True}},
        {"class_name": "Dropout", "config": {"name": "dropout_1", "p": 0.5, "trainable": True}},
        {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True}},
        {"class_name": "Dense", "config": {
            "name": "dense_1", "output_dim": UNITS, "activation": "linear", "init": "uniform",
            "bias": True, "W_regularizer": None, "b_regularizer": None,
            "activity_regularizer": None, "W_constraint": None, "b_constraint": None,
            "input_dim": None, "trainable": True}},
    ]


def random_weights(seed: int) -> dict[str, np.ndarray]:
    """Keras 1 arrays: the conv kernel stored (k, 1, in, out)."""
    rng = np.random.default_rng(seed)
    pooled = (LENGTH - WIDTH + 1) // 2
    return {
        "W": rng.normal(size=(WIDTH, 1, CHANNELS, FILTERS)).astype(np.float32),
        "b": rng.normal(size=(FILTERS,)).astype(np.float32) * 0.1,
        "dense_W": rng.normal(size=(pooled * FILTERS, UNITS)).astype(np.float32) * 0.3,
        "dense_b": rng.normal(size=(UNITS,)).astype(np.float32),
    }


def write_weights(group: h5py.Group, weights: dict[str, np.ndarray], backend: str,
                  old_layout: bool) -> None:
    """`layer_names` / `weight_names` groups as Keras 1 wrote them (':0' only under TF)."""
    suffix = ":0" if backend == "tensorflow" else ""
    kernel = np.transpose(weights["W"], (3, 2, 0, 1)) if old_layout else weights["W"]
    layers = {
        "convolution1d_1": [("convolution1d_1_W", kernel), ("convolution1d_1_b", weights["b"])],
        "maxpooling1d_1": [], "dropout_1": [], "flatten_1": [],
        "dense_1": [("dense_1_W", weights["dense_W"]), ("dense_1_b", weights["dense_b"])],
    }
    group.attrs["layer_names"] = [n.encode() for n in layers]
    for name, arrays in layers.items():
        sub = group.create_group(name)
        sub.attrs["weight_names"] = [f"{w}{suffix}".encode() for w, _ in arrays]
        for weight_name, value in arrays:
            sub.create_dataset(f"{weight_name}{suffix}", data=value)


def write_full_model(path: Path, weights: dict[str, np.ndarray], backend: str,
                     old_layout: bool = False, backend_attr: bool = False) -> Path:
    """A Keras 1.1 full-model .h5 (Sequential config as a bare list of layers)."""
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = b"1.1.1"
        if backend_attr:
            handle.attrs["backend"] = backend.encode()
        handle.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": layers_config()}).encode()
        write_weights(handle.create_group("model_weights"), weights, backend, old_layout)
    return path


def write_weights_only(path: Path, weights: dict[str, np.ndarray], backend: str) -> Path:
    """A Keras 1 `save_weights` file: layer groups at the root, no config."""
    with h5py.File(path, "w") as handle:
        write_weights(handle, weights, backend, old_layout=False)
    return path


YAML_ARCH = """class_name: Sequential
config:
- class_name: Convolution1D
  config:
    name: convolution1d_1
    batch_input_shape: !!python/tuple [null, {length}, {channels}]
    input_dtype: float32
    nb_filter: {filters}
    filter_length: {width}
    border_mode: valid
    subsample_length: 1
    activation: relu
    init: glorot_uniform
    bias: true
    W_regularizer: null
    b_regularizer: null
    activity_regularizer: null
    W_constraint: null
    b_constraint: null
    input_dim: {channels}
    input_length: {length}
    trainable: true
- class_name: MaxPooling1D
  config: {{name: maxpooling1d_1, pool_length: 2, stride: null, border_mode: valid,
    trainable: true}}
- class_name: Dropout
  config: {{name: dropout_1, p: 0.5, trainable: true}}
- class_name: Flatten
  config: {{name: flatten_1, trainable: true}}
- class_name: Dense
  config: {{name: dense_1, output_dim: {units}, activation: linear, init: uniform, bias: true,
    W_regularizer: null, b_regularizer: null, activity_regularizer: null, W_constraint: null,
    b_constraint: null, input_dim: null, trainable: true}}
keras_version: 1.2.2
""".format(length=LENGTH, channels=CHANNELS, filters=FILTERS, width=WIDTH, units=UNITS)


def expected_output(x: np.ndarray, weights: dict[str, np.ndarray], backend: str) -> np.ndarray:
    """The model's output computed directly: true convolution under Theano."""
    kernel = weights["W"][:, 0].astype(np.float64)  # (k, in, out)
    if backend == "theano":
        kernel = kernel[::-1]
    steps = LENGTH - WIDTH + 1
    conv = np.zeros((x.shape[0], steps, FILTERS))
    for t in range(steps):
        for j in range(WIDTH):
            conv[:, t] += x[:, t + j].astype(np.float64) @ kernel[j]
    conv = np.maximum(conv + weights["b"], 0)
    pooled = conv[:, : steps // 2 * 2].reshape(x.shape[0], steps // 2, 2, FILTERS).max(axis=2)
    return pooled.reshape(x.shape[0], -1) @ weights["dense_W"] + weights["dense_b"]
