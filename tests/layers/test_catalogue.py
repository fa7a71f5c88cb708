"""The layer catalogue: every list the passes kept before it is derived from it and still
covers what that list held (no TensorFlow).

The `BEFORE_*` constants are the lists as they stood in the passes before the catalogue
(valid_windows.POINTWISE, channels_last.ELEMENTWISE, ...), kept here as the record.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from converter.layers import CATALOGUE, UNKNOWN, export_classes, keras1_rules, spec_of, specs
from converter.layers.spec import LayerSpec
from converter.layers.traits import size_of
from converter.normalize.keras1_layers import KNOWN_CLASSES
from converter.normalize.unwrap_time_distributed import per_step

BEFORE_RECURRENT = ("LSTM", "GRU", "SimpleRNN")
BEFORE_POINTWISE = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
                    "ThresholdedReLU", "Add", "Subtract", "Multiply", "Average", "Maximum",
                    "Minimum", "Concatenate")
BEFORE_ELEMENTWISE = ("Activation", "ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "Dropout",
                      "AlphaDropout", "GaussianNoise", "GaussianDropout",
                      "ActivityRegularization", "Add", "Subtract", "Multiply", "Average",
                      "Maximum", "Minimum")
BEFORE_AXIS_LAYERS = ("BatchNormalization", "LayerNormalization", "Concatenate", "Softmax")
BEFORE_FORMAT_LAYERS = ("Conv1D", "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose",
                        "MaxPooling1D", "AveragePooling1D")
BEFORE_GLOBAL_POOLS = ("GlobalMaxPooling1D", "GlobalAveragePooling1D")
BEFORE_PER_STEP = ("Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout")
BEFORE_LENGTH_IDENTITY = ("Dropout", "SpatialDropout1D", "Activation", "BatchNormalization",
                          "ReLU", "LeakyReLU", "LayerNormalization", "GaussianNoise")
BEFORE_IDENTITY_AT_INFERENCE = ("Dropout", "SpatialDropout1D", "GaussianNoise",
                                "GaussianDropout", "AlphaDropout", "ActivityRegularization")
BEFORE_THEANO_CONVOLUTIONS = ("Conv1D", "Conv1DTranspose")
BEFORE_KERAS1_RULES = (
    "Convolution1D", "AtrousConvolution1D", "MaxPooling1D", "AveragePooling1D",
    "GlobalMaxPooling1D", "GlobalAveragePooling1D", "Dense", "Embedding", "LSTM", "GRU",
    "SimpleRNN", "Bidirectional", "TimeDistributed", "Dropout", "SpatialDropout1D",
    "GaussianNoise", "GaussianDropout", "Flatten", "Activation", "Reshape", "Permute",
    "RepeatVector", "ZeroPadding1D", "Cropping1D", "UpSampling1D", "BatchNormalization",
    "InputLayer", "LeakyReLU", "ELU")
BEFORE_KEARS1_KNOWN_EXTRA = ("Merge", "Concatenate", "Add", "Multiply", "Average", "Maximum",
                             "Dot")
BEFORE_REFERENCE = (
    "Dense", "Embedding", "BatchNormalization", "LayerNormalization", "Activation", "ReLU",
    "LeakyReLU", "ELU", "PReLU", "Softmax", "Add", "Subtract", "Multiply", "Average",
    "Maximum", "Minimum", "Concatenate", "Dot", "Flatten", "Reshape", "Permute",
    "RepeatVector", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
    "AlphaDropout", "ActivityRegularization", "Identity", "TimeDistributed", "Conv1D",
    "SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose", "MaxPooling1D", "MaxPool1D",
    "AveragePooling1D", "AvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
    "GlobalAveragePooling1D", "GlobalAvgPool1D", "ZeroPadding1D", "Cropping1D",
    "UpSampling1D", "LSTM", "GRU", "SimpleRNN", "Bidirectional")
BEFORE_KERAS_ONLY = ("Conv2D", "Conv3D", "MaxPooling2D", "AveragePooling2D",
                     "GlobalMaxPooling2D", "GlobalAveragePooling2D", "MultiHeadAttention",
                     "Attention", "Masking", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
                     "Lambda", "Normalization", "SpatialDropout2D", "ConvLSTM1D", "Rescaling",
                     "UnitNormalization")
BEFORE_EXPORT_CLASSES = ("Conv1D", "Conv1DTranspose", "Embedding", "Flatten", "Reshape",
                         "Bidirectional", "LSTM", "GRU", "SimpleRNN")
BEFORE_SIZE_KEYS = ("kernel_size", "strides", "dilation_rate", "pool_size")


@pytest.mark.parametrize(("before", "derived"), [
    (BEFORE_RECURRENT, lambda s: s.recurrent),
    (BEFORE_POINTWISE, lambda s: s.positionwise({})),
    (BEFORE_ELEMENTWISE, lambda s: s.elementwise),
    (BEFORE_AXIS_LAYERS, lambda s: s.axis_key == "axis"),
    (BEFORE_FORMAT_LAYERS, lambda s: s.data_format == "window"),
    (BEFORE_GLOBAL_POOLS, lambda s: s.data_format == "global"),
    (BEFORE_LENGTH_IDENTITY, lambda s: s.length is not None and s.length({}, 97) == 97),
    (BEFORE_IDENTITY_AT_INFERENCE, lambda s: s.identity_at_inference),
    (BEFORE_THEANO_CONVOLUTIONS, lambda s: s.length_kernel),
    (BEFORE_REFERENCE, lambda s: s.reference is not None or s.wrapper_reference is not None),
    (BEFORE_KERAS_ONLY + BEFORE_REFERENCE, lambda s: s is not UNKNOWN),
], ids=["recurrent", "valid-windows-pointwise", "channels-last-elementwise",
        "channels-last-axis", "channels-last-format", "channels-last-global",
        "infer-shape-identity", "identity-at-inference", "theano-kernels", "reference",
        "supported"])
def test_each_derived_list_covers_what_the_pass_kept_before(before: tuple[str, ...],
                                                          derived: Any) -> None:
    assert [name for name in before if not derived(spec_of(name))] == []


def test_per_step_covers_what_unwrap_time_distributed_kept_before() -> None:
    assert all(per_step(name, {}) for name in BEFORE_PER_STEP)
    assert not per_step("Softmax", {"axis": 1}) and not per_step("Conv1D", {})


def test_keras1_rules_are_the_ones_the_pass_held() -> None:
    assert set(keras1_rules()) == set(BEFORE_KERAS1_RULES)
    assert set(BEFORE_KERAS1_RULES + BEFORE_KEARS1_KNOWN_EXTRA) <= KNOWN_CLASSES


# Export forms added since: UpSampling1D without run-time shape ops at a static length.
# Dense: one matmul over a sequence; Normalization: statistics as constants (issue 19);
# TFOp: tf.keras's TF-op layers as table functions.
ADDED_EXPORT_CLASSES = ("UpSampling1D", "Dense", "Normalization", "TFOp")


def test_export_classes_are_the_ones_build_used() -> None:
    assert {s.name for s in specs() if s.export is not None} == set(
        BEFORE_EXPORT_CLASSES + ADDED_EXPORT_CLASSES)
    assert export_classes  # built only on demand: the factories import Keras


def test_every_1d_size_argument_is_canonicalised() -> None:
    for name, spec in CATALOGUE.items():
        if "1D" in name and spec.data_format == "window":
            expected = {"kernel_size", "strides", "dilation_rate"} if "Conv" in name else {
                "pool_size", "strides"}
            assert set(spec.sizes) == expected, name
        assert set(spec.sizes) <= set(BEFORE_SIZE_KEYS), name


def test_keras2_drift_reaches_every_class_the_old_name_patterns_did() -> None:
    for name, spec in CATALOGUE.items():
        if name.startswith("SeparableConv") or name.endswith("Transpose") or (
                "Normalization" in name):
            assert spec.keras2_drift is not None, name


def test_a_class_is_catalogued_once_and_an_unknown_one_has_no_traits() -> None:
    every = [name for spec in specs() for name in spec.names]
    assert len(every) == len(set(every)) == len(CATALOGUE)
    assert spec_of("MyCustomLayer") is UNKNOWN
    assert UNKNOWN == LayerSpec("") and UNKNOWN.length is None
    assert spec_of("MaxPool1D") is spec_of("MaxPooling1D")


def old_shortest_length_step(class_name: str, config: dict[str, Any]) -> tuple[int, int]:
    """interface.shortest_length's per-layer arithmetic before the catalogue, verbatim."""
    removed, stride = 0, 1
    if class_name == "Cropping1D":
        crop = config.get("cropping", (1, 1))
        removed += 2 * crop if isinstance(crop, int) else sum(int(c) for c in crop)
    window = config.get("kernel_size") or config.get("pool_size")
    if window is not None and "1D" in class_name:
        size = int(window[0] if isinstance(window, (list, tuple)) else window)
        rate = config.get("dilation_rate") or 1
        dilation = int(rate[0] if isinstance(rate, (list, tuple)) else rate)
        if config.get("padding", "valid") == "valid":
            removed += (size - 1) * dilation
        steps = config.get("strides") or (size if "Pool" in class_name else 1)
        stride *= int(steps[0] if isinstance(steps, (list, tuple)) else steps)
    return removed, stride


def old_step_length(class_name: str, config: dict[str, Any], length: int) -> int | None:
    """infer_shape.step_length for windows and crops before the catalogue, verbatim."""
    if "Conv1D" in class_name and "Transpose" not in class_name or (
            "Pooling1D" in class_name and "Global" not in class_name):
        window = size_of(config.get("kernel_size", config.get("pool_size")), 2)
        dilation = size_of(config.get("dilation_rate"))
        stride = size_of(config.get("strides"), window if "Pooling" in class_name else 1)
        span = (window - 1) * dilation + 1
        if config.get("padding", "valid") in ("same", "causal"):
            return -(-length // stride)
        return (length - span) // stride + 1 if length >= span else -1
    if class_name == "Cropping1D":
        crop = config.get("cropping", (1, 1))
        return length - (2 * crop if isinstance(crop, int) else sum(crop))
    return None


def random_configs(class_name: str, rng: random.Random) -> list[dict[str, Any]]:
    """Configs in every form Keras 1-3 and hand-written JSON use for a windowed layer."""
    forms = [lambda v: v, lambda v: [v], lambda v: (v,)]
    configs = []
    for _ in range(40):
        size, stride, dilation = rng.randint(1, 9), rng.randint(1, 4), rng.randint(1, 5)
        config: dict[str, Any] = {"padding": rng.choice(["valid", "same", "causal"])}
        key = "pool_size" if "Pool" in class_name else "kernel_size"
        config[key] = rng.choice(forms)(size)
        if rng.random() < 0.7:
            config["strides"] = rng.choice(forms)(stride)
        if "Conv" in class_name and rng.random() < 0.7:
            config["dilation_rate"] = rng.choice(forms)(dilation)
        if class_name == "Cropping1D":
            config = {"cropping": rng.choice([rng.randint(0, 9), [rng.randint(0, 9),
                                                                   rng.randint(0, 9)]])}
        configs.append(config)
    return configs


@pytest.mark.parametrize("class_name", ["Conv1D", "SeparableConv1D", "DepthwiseConv1D",
                                        "Conv1DTranspose", "MaxPooling1D", "AveragePooling1D",
                                        "Cropping1D"])
def test_length_arithmetic_matches_what_the_loaders_computed_before(class_name: str) -> None:
    rng = random.Random(class_name)
    spec = spec_of(class_name)
    assert spec.length is not None
    for config, length in itertools.product(random_configs(class_name, rng), (1, 7, 64, 1000)):
        assert spec.reach(config) == old_shortest_length_step(class_name, config), config
        before = old_step_length(class_name, config, length)
        if before is not None:
            assert spec.length(config, length) == before, (config, length)
