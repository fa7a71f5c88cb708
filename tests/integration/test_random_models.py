"""Seeded random Keras models, converted and checked every way (random_models, model_fuzz).

50 small models per run, each through load, normalisation, export and every CPU runtime,
with parity within each runtime's tolerance and the graph invariants; a failure prints its
seed and the model's config (`scripts/fuzz_models.py --seed S --count 1` replays it).
Failures the generator found stay below as named tests with the smallest model that shows
each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.model_fuzz import Outcome, check, check_file, describe

pytestmark = pytest.mark.tf
SEEDS = range(50)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_a_random_model_converts_with_parity_and_its_invariants(seed: int,
                                                                tmp_path: Path) -> None:
    outcome = check(seed, tmp_path)
    assert not outcome.failures, describe(outcome)
    # every CPU runtime compared at least one output, but one that said why it could not
    assert outcome.checks >= 8 - len(outcome.skipped), outcome.skipped


def checked(model: Any, path: Path) -> Outcome:
    model.save(path)
    outcome = check_file(path, path.parent)
    assert not outcome.failures, describe(outcome)
    return outcome


def ops(outcome: Outcome, fmt: str) -> list[str]:
    """The op types of a checked model's file: TFLite, or the native ONNX."""
    stage = outcome.path.parent / f"stage_{outcome.seed}"
    if fmt == "onnx":
        import onnx

        return [n.op_type for n in onnx.load(stage / "native" / "model.onnx").graph.node]
    from ai_edge_litert.interpreter import Interpreter

    return [op["op_name"] for op in Interpreter(str(stage / "model.tflite"))._get_ops_details()]


def test_a_dilated_grouped_conv_is_one_conv_in_both_formats(tmp_path: Path) -> None:
    # Keras compiles a grouped conv with XLA: tf2onnx wrote an unreadable function call and
    # TFLite a SPACE_TO_BATCH_ND pair (seeds 1, 5)
    import keras

    x = keras.Input((None, 4))
    y = keras.layers.Conv1D(4, 3, dilation_rate=2, padding="causal", groups=2)(x)
    outcome = checked(keras.Model(x, keras.layers.GlobalMaxPooling1D()(y)),
                      tmp_path / "grouped.keras")
    assert ops(outcome, "onnx").count("Conv") == 1
    assert "SPACE_TO_BATCH_ND" not in ops(outcome, "tflite")


def test_a_dense_over_a_sequence_reads_no_shape(tmp_path: Path) -> None:
    # Tensordot: SHAPE, GATHER, REDUCE_PROD and PACK in TFLite at a static length (seed 0)
    import keras

    x = keras.Input((16, 3))
    outcome = checked(keras.Model(x, keras.layers.Dense(2)(x)), tmp_path / "dense.keras")
    assert ops(outcome, "tflite") == ["FULLY_CONNECTED"]
    assert ops(outcome, "onnx") == ["MatMul", "Add"]


def test_an_op_the_reference_kernels_lack_skips_that_check_only(tmp_path: Path) -> None:
    # LiteRT's reference resolver has no ELU (seed 3); the other checks run
    import keras

    x = keras.Input((None, 2))
    y = keras.layers.Conv1D(3, 3, activation="elu")(x)
    outcome = checked(keras.Model(x, y), tmp_path / "elu.keras")
    assert outcome.skipped == ["tflite-reference: LiteRT's reference kernels lack ELU; the "
                               "builtin and XNNPACK checks run this file"]


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_a_transposed_conv_at_a_dynamic_length_computes_no_output_shape(
        tmp_path: Path, padding: str) -> None:
    # tf2onnx computed the output shape and its crop with 40 shape ops (seed 12)
    import keras

    x = keras.Input((None, 3))
    y = keras.layers.Conv1DTranspose(4, 3, strides=2, padding=padding)(x)
    outcome = checked(keras.Model(x, y), tmp_path / f"transpose_{padding}.keras")
    assert "Shape" not in ops(outcome, "onnx") and "TRANSPOSE_CONV" not in ops(outcome, "tflite")


def test_upsampling_at_a_dynamic_length_computes_no_shape_in_onnx(tmp_path: Path) -> None:
    # Keras 3's repeat reads the input's shape for its Reshape (seed 18)
    import keras

    x = keras.Input((None, 2))
    outcome = checked(keras.Model(x, keras.layers.UpSampling1D(2)(x)), tmp_path / "up.keras")
    assert "Shape" not in ops(outcome, "onnx")


def test_a_tf_keras_depthwise_conv_in_h5_loads(tmp_path: Path) -> None:
    # tf.keras writes groups=1 for DepthwiseConv1D, which Keras 3 refuses (seed 57)
    import tf_keras

    x = tf_keras.Input((12, 2))
    y = tf_keras.layers.DepthwiseConv1D(3, depth_multiplier=2)(x)
    checked(tf_keras.Model(x, y), tmp_path / "depthwise.h5")


def test_a_gru_before_upsampling_is_laid_out_in_one_run(tmp_path: Path) -> None:
    # The upsampling's shape read of the GRU's output, unread once its size was known, stopped
    # the chain rewrites until the clean-up; a second run then shortened it (seeds 74, 638):
    # unread nodes now go every round
    import keras

    x = keras.Input((None, 2))
    h = keras.layers.UpSampling1D(2)(keras.layers.GRU(4, return_sequences=True)(x))
    outcome = checked(keras.Model(x, h), tmp_path / "gru_up.keras")
    assert ops(outcome, "onnx").count("GRU") == 1 and "Shape" not in ops(outcome, "onnx")
