"""What the pipeline knows about one Keras layer class: the catalogue entry's type.

A `LayerSpec` is the one place that says, for its classes, every fact a stage needs: traits
the graph passes ask about (does it act on each position alone? which config key is an axis
the layout decides? how does it map a sequence length?), how Keras 1 wrote it, its NumPy
reference, and the export-friendly Keras subclass `build` uses. Family modules
(`convolution`, `recurrent`, ...) hold the entries; `converter.layers` indexes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Config = Mapping[str, Any]
Weights = Sequence[np.ndarray]
Inputs = list[np.ndarray]
Array = np.ndarray
# A NumPy reference: (config, float64 weights, input arrays) -> output array.
Impl = Callable[[Config, Weights, Inputs], Array]
# A wrapper's reference also gets the implementation of any class it wraps.
WrapperImpl = Callable[[Config, Weights, Inputs, Callable[[str], Impl]], Array]
# Keras 1 weights of one translated layer -> Keras 3 layouts: (config, weights, names, owner).
Keras1Weights = Callable[[Config, Weights, Sequence[str], str], tuple[np.ndarray, ...]]
# (target: "tflite" or "onnx") -> a Keras 3 subclass computing the same numbers.
ExportClass = Callable[[str], Any]
# A Keras 2 config in place -> notes of what changed, for keys Keras 3 no longer accepts.
Keras2Drift = Callable[[dict[str, Any], str], list[str]]
# (config, the input's length or None when unknown) -> the output's length, or None.
LengthMap = Callable[[Config, "int | None"], "int | None"]
# A tensor's static shape without the batch axis (None: a dimension not known statically).
Shape = tuple["int | None", ...]
# (config, the inputs' static shapes or None) -> the output's static shape, or None.
ShapeMap = Callable[[Config, Sequence["Shape | None"]], "Shape | None"]


def never(config: Config) -> bool:
    """A trait that holds for no config."""
    return False


def no_reach(config: Config) -> tuple[int, int]:
    """(positions removed, stride) of a layer that keeps every position."""
    return 0, 1


@dataclass(frozen=True)
class Keras1Rule:
    """How one Keras 1 class maps: its Keras 3 class, renamed keys, value transforms.

    A rename to "" drops the key with a note (it never changed the computed numbers).
    """

    target: str
    renames: Mapping[str, str] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    transforms: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    added: Mapping[str, Any] = field(default_factory=dict)
    # Keys dropped when they hold this value, Keras 3's default (Embedding mask_zero=False).
    dropped_at: Mapping[str, Any] = field(default_factory=dict)
    # Keys whose presence marks a config as Keras 1; None: the renamed keys and the
    # training keys only Keras 1 wrote (`keras1_layers.KERAS1_ONLY`).
    markers: frozenset[str] | None = None


@dataclass(frozen=True)
class LayerSpec:
    """One catalogue entry: every fact the pipeline uses about a Keras layer class.

    Attributes:
        name: the Keras 3 class name.
        aliases: other Keras 3 names of the same class (MaxPool1D for MaxPooling1D).
        elementwise: acts on each element alone, so it computes the same in any layout.
        positionwise: for a config, whether the output at each sequence position depends
            only on the input at that position, with the same parameters at every position
            (activations, Dense, a batch norm over channels, merges over channels).
        axis_key: the config key of an axis that must follow the tensor's layout.
        data_format: "window" for a layer with a data_format and a window over the length
            (convs, pooling), "global" for a global pooling with a data_format.
        recurrent: a recurrent layer with a cell and a loop over time.
        identity_at_inference: computes the identity when not training (Dropout).
        length_kernel: has a kernel along the length axis (Theano stored it flipped).
        sizes: its 1-D size arguments (kernel_size, strides, ...).
        wraps: holds another layer's config under `layer` (and `backward_layer`).
        length: its output's length (axis 1) for its input's (None when unknown); None for
            a layer whose output length nothing says (Flatten, global pooling).
        reach: (positions it can remove at most, its stride) for a config.
        shape: its output's static shape from its inputs'; None to derive it from `length`
            (the length axis mapped, the other axes kept).
        keras1: Keras 1 class name -> how that class translates to this one.
        keras1_weights: Keras 1 weight layouts of this class -> Keras 3 layouts.
        keras2_drift: rewrites, in place, the keys of its Keras 2 config that Keras 3 no
            longer accepts, returning a note per change.
        from_legacy: legacy classes a normalisation pass turns into this one (Merge).
        reference: the NumPy reference implementation.
        wrapper_reference: a wrapper's NumPy reference, given how to find the inner one.
        export: the export-friendly subclass for a target; None when the stock class is.
        export_differs: for a config, whether `export` differs between TFLite and ONNX.
        call_kwargs: the call keywords its call takes beyond `training` and `mask` (which
            every class may get), `__args__` for positional arguments after the first.
        training_mode: what a call with training=True computes instead of the inference
            form ("" where it computes the same): such calls are reported.
        refusal: why converter refuses the class, and what to do instead ("": it does not).
    """

    name: str
    aliases: tuple[str, ...] = ()
    elementwise: bool = False
    positionwise: Callable[[Config], bool] = never
    axis_key: str | None = None
    data_format: Literal["window", "global"] | None = None
    recurrent: bool = False
    identity_at_inference: bool = False
    length_kernel: bool = False
    sizes: tuple[str, ...] = ()
    wraps: bool = False
    length: LengthMap | None = None
    reach: Callable[[Config], tuple[int, int]] = no_reach
    shape: ShapeMap | None = None
    keras1: Mapping[str, Keras1Rule] = field(default_factory=dict)
    keras1_weights: Keras1Weights | None = None
    keras2_drift: Keras2Drift | None = None
    from_legacy: tuple[str, ...] = ()
    reference: Impl | None = None
    wrapper_reference: WrapperImpl | None = None
    export: ExportClass | None = None
    export_differs: Callable[[Config], bool] = never
    call_kwargs: frozenset[str] = frozenset()
    training_mode: str = ""
    refusal: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The class name and its aliases."""
        return (self.name, *self.aliases)
