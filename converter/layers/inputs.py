"""InputLayer: where the model's shape and dtype are declared."""

from __future__ import annotations

from converter.layers.spec import Keras1Rule, LayerSpec
from converter.layers.traits import refuse_true

SPECS = (
    LayerSpec("InputLayer", keras1={"InputLayer": Keras1Rule(
        "InputLayer", {"input_dtype": "dtype", "batch_input_shape": "batch_shape", "sparse": ""},
        transforms={"sparse": refuse_true("sparse")}, markers=frozenset({"input_dtype"}))}),
)
