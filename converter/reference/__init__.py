"""An independent NumPy interpreter of the graph IR: the reference when Keras cannot run.

It shares no code with Keras, TensorFlow or the exporters: each layer is written from its
documented semantics in float64 (its catalogue entry's `reference`), so it catches a
normalisation pass or an exporter that is wrong in the same way Keras would be. Keras 1
files, which no Keras loads, are checked against it.
"""

from converter.errors import UnsupportedByReference
from converter.reference.interpreter import implementation, layer_outputs, run_graph

__all__ = ["UnsupportedByReference", "implementation", "layer_outputs", "run_graph"]
