"""TF-op layers (tf.keras's TFOpLambda, SlicingOpLambda) from .h5 and .keras files (issue 19).

tf.keras 2.x records `x + y`, `tf.nn.relu(x)` and `x[:, 2:-2]` on Keras tensors as layers
naming the TensorFlow function; converter maps each to its table (`layers.tf_ops`), reading
positional and keyword tensor arguments, and runs nothing from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from converter import ConvertOptions, convert
from converter.layers.tf_ops import FUNCTIONS, NUMPY, PART, Ops

pytestmark = pytest.mark.tf


def tf_op_model() -> Any:
    """A Conv1D model whose middle is TensorFlow functions called on Keras tensors."""
    import tensorflow as tf
    import tf_keras

    inp = tf_keras.Input((24, 4), name="signal")
    x = tf_keras.layers.Conv1D(8, 3, padding="same", name="conv")(inp)
    y = tf_keras.layers.Dense(8, name="proj")(x)
    x = tf.math.add(x, y=y)                          # a tensor passed by keyword
    x = tf.nn.relu(x) * 0.5                          # a number by keyword
    x = 1.0 - x                                      # a constant first argument
    x = tf.clip_by_value(tf.maximum(x, -0.8), -1.0, 1.0)
    mean = tf.reduce_mean(x, axis=1, keepdims=True)
    x = tf.concat([x, tf.tile(mean, [1, 24, 1])], axis=-1)   # a list first argument
    left, right = tf.split(x, 2, axis=-1)            # one layer, two outputs
    x = tf.math.square(left) - tf.nn.softmax(right, axis=-1)
    x = tf.squeeze(tf.expand_dims(x, 2), axis=2)[:, 2:-2, :]
    x = tf.transpose(x, perm=[0, 2, 1])
    x = tf.reshape(x, [-1, 8 * 20])
    return tf_keras.Model(inp, tf_keras.layers.Dense(3, name="head")(x))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tfop")
    model = tf_op_model()
    model.save(out / "ops.h5")
    model.save(out / "ops.keras")
    return out


@pytest.mark.parametrize("name", ["ops.h5", "ops.keras"])
def test_tf_op_layers_convert_with_parity_on_every_cpu_runtime(written, name) -> None:
    result = convert(written / name, ConvertOptions(output_dir=written / f"{name}-out",
                                                    power="off"))
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert {c.status for c in result.parity} == {"passed"}
    assert any(c.runtime == "numpy" for c in result.parity)  # the table's NumPy side too
    changes = next(p.changes for p in result.passes if p.name == "tf_op_layers")
    assert "tf.math.add: tf.math.add -> TFOp" in changes
    assert "tf.split: tf.split -> TFOp (2 pieces)" in changes
    assert len(changes) == 18


def test_the_issue_structure_with_attention_converts(tmp_path: Path) -> None:
    """tf.keras 2 .keras: LayerNormalization, MultiHeadAttention and `x + attention` (its
    second operand passed as the keyword `y`)."""
    import tf_keras

    inp = tf_keras.Input((24, 4))
    x = tf_keras.layers.Conv1D(8, 3, padding="same")(inp)
    y = tf_keras.layers.LayerNormalization()(x)
    x = x + tf_keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(y, y)
    out = tf_keras.layers.Dense(2)(tf_keras.layers.GlobalAveragePooling1D()(x))
    tf_keras.Model(inp, out).save(tmp_path / "attention.keras")
    result = convert(tmp_path / "attention.keras", ConvertOptions(output_dir=tmp_path / "out",
                                                                  power="off"))
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    numpy = next(c for c in result.parity if c.runtime == "numpy")
    assert numpy.status == "skipped" and "MultiHeadAttention" in numpy.reason
    assert result.report["reference"]["loader"] == "tf_keras"


def test_keras3_operations_recorded_as_layers_convert(tmp_path: Path) -> None:
    """Keras 3 records `x + y` and keras.ops calls on Keras tensors as operation layers."""
    import keras
    from keras import ops

    inp = keras.Input((20, 3), name="sig")
    x = keras.layers.Conv1D(4, 3, padding="same", name="conv")(inp)
    y = keras.layers.Dense(4, name="proj")(x)
    x = ops.relu(ops.add(x + y, 1.0)) * 2.0
    x = ops.concatenate([x, ops.gelu(y)], axis=-1)
    x = ops.clip(ops.softmax(x, axis=1) - ops.leaky_relu(x, negative_slope=0.1), -0.5, 0.5)
    x = ops.reshape(ops.transpose(ops.squeeze(ops.expand_dims(x, 2), 2), (0, 2, 1)), (-1, 160))
    z = ops.mean(x, axis=-1, keepdims=True) + ops.max(x, axis=-1, keepdims=True)
    out = keras.layers.Dense(2, name="head")(ops.concatenate([x, z], axis=-1))
    keras.Model(inp, out).save(tmp_path / "ops3.keras")
    result = convert(tmp_path / "ops3.keras", ConvertOptions(output_dir=tmp_path / "out",
                                                             power="off"))
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert {c.status for c in result.parity} == {"passed"}
    changes = next(p.changes for p in result.passes if p.name == "tf_op_layers")
    assert "add: keras.ops numpy.Add -> TFOp" in changes
    assert "gelu: keras.ops nn.Gelu -> TFOp" in changes and len(changes) == 18


def test_a_function_outside_the_table_is_refused_naming_it(tmp_path: Path) -> None:
    import tensorflow as tf
    import tf_keras

    from converter.cli import main

    inp = tf_keras.Input((10, 2))
    x = tf.math.cumsum(tf_keras.layers.Conv1D(4, 3)(inp), axis=1)
    tf_keras.Model(inp, x).save(tmp_path / "cumsum.h5")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "cumsum.h5"), "-o",
                                       str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert "tf.math.cumsum (tf.math.cumsum: not a function converter computes" in text
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


X = np.random.default_rng(0).normal(size=(2, 6, 4))
SAMPLES: dict[str, dict[str, Any]] = {
    **{name: {"x": np.abs(X) + 0.5, "y": X[::-1] + 2.5} for name in FUNCTIONS
       if FUNCTIONS[name].params == ("x", "y")},
    **{name: {"x": np.abs(X) + 0.5} for name in FUNCTIONS if FUNCTIONS[name].params == ("x",)},
    **{name: {"features": X} for name in FUNCTIONS if FUNCTIONS[name].params == ("features",)},
    **{name: {"input_tensor": X, "axis": [1], "keepdims": True} for name in FUNCTIONS
       if name.startswith("math.reduce_")},
    "nn.leaky_relu": {"features": X, "alpha": 0.1},
    "nn.gelu": {"features": X, "approximate": True},  # Keras 3's gelu op; tf's is exact
    "reverse": {"tensor": X, "axis": [1]},
    "nn.softmax": {"logits": X, "axis": 1},
    "reshape": {"tensor": X, "shape": [-1, 24]},
    "transpose": {"a": X, "perm": [0, 2, 1]},
    "concat": {"values": [X, X * 2], "axis": -1},
    "stack": {"values": [X, X * 2], "axis": 1},
    "expand_dims": {"input": X, "axis": 2},
    "squeeze": {"input": X[:, :, :1], "axis": [2]},
    "tile": {"input": X, "multiples": [1, 2, 1]},
    "split": {"value": X, "num_or_size_splits": [1, 3], "axis": 2, PART: 1},
    "identity": {"input": X},
    "clip_by_value": {"t": X, "clip_value_min": -0.5, "clip_value_max": 0.7},
    "linalg.matmul": {"a": X, "b": X.transpose(0, 2, 1)},
    "__operators__.getitem": {"tensor": X, "slice_spec": [
        {"start": None, "stop": None, "step": None}, {"start": 1, "stop": -1, "step": 2},
        "...", None]},
}
SAMPLES |= {f"compat.v1.{name}": SAMPLES[name] for name in ("squeeze", "transpose")}


def test_every_table_function_computes_the_same_in_numpy_and_keras() -> None:
    """One definition, two namespaces: NumPy (the reference) and keras.ops (the export)."""
    import keras

    assert set(SAMPLES) == set(FUNCTIONS)
    ops = Ops(keras.ops, keras.activations.get)
    for name, arguments in SAMPLES.items():
        function = FUNCTIONS[name]
        want = np.asarray(function.compute(NUMPY, {**function.defaults, **arguments}))
        tensors = {k: keras.ops.convert_to_tensor(v.astype("float32")) if isinstance(
            v, np.ndarray) else [keras.ops.convert_to_tensor(a.astype("float32")) for a in v]
            if isinstance(v, list) and v and isinstance(v[0], np.ndarray) else v
            for k, v in arguments.items()}
        got = np.asarray(function.compute(ops, {**function.defaults, **tensors}))
        assert got.shape == want.shape, name
        assert np.allclose(got, want, atol=1e-5, rtol=1e-5), name
