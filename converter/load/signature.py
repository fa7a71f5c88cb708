"""A SavedModel without Keras metadata: its serving signature is the whole model.

There is no layer graph to normalise: the graph is the signature's inputs and one opaque
`SavedModelSignature` node per output, exported from the signature as it is (the report
says normalisation was skipped), and called like a Keras model by the parity reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from converter.artifacts import Layer, LayerCall, LoadedModel, ModelGraph, Provenance, TensorRef
from converter.errors import LoadError
from converter.load.detect import directory_sha256

SIGNATURE_LAYER = "SavedModelSignature"


NO_METADATA = "a SavedModel without Keras metadata has no layer graph"


def signature_model(path: Path, why: str = NO_METADATA) -> LoadedModel:
    """A graph of the serving signature alone: inputs, one opaque node per output.

    `why` the layer graph is not used; the report's passes say it.
    """
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # TensorFlow raises many types for a broken directory
        raise LoadError(f"{path}: TensorFlow cannot load the SavedModel: "
                        f"{str(exc).splitlines()[0][:300]}") from exc
    if "serving_default" not in loaded.signatures:
        raise LoadError(f"{path}: has no Keras metadata and no serving_default signature; "
                        "export the model with model.export() or save it as .keras")
    function = loaded.signatures["serving_default"]
    specs = function.structured_input_signature[1]
    layers = [Layer(name, "InputLayer", {"batch_shape": list(spec.shape.as_list()),
                                         "dtype": spec.dtype.name})
              for name, spec in sorted(specs.items())]
    refs = tuple(TensorRef(x.name) for x in layers)
    outputs = sorted(function.structured_outputs)
    config = {"path": str(path), "signature": "serving_default", "why": why}
    layers += [Layer(name, SIGNATURE_LAYER, {**config, "output": name}, (LayerCall(refs),))
               for name in outputs]
    graph = ModelGraph(tuple(layers), refs, tuple(TensorRef(n) for n in outputs),
                       path.name)
    provenance = Provenance(str(path), directory_sha256(path), "savedmodel-signature",
                            "none (no Keras metadata)", "tensorflow", "TensorFlow SavedModel")
    return LoadedModel(graph, provenance, "tf_saved_model")


class SignatureCaller:
    """A SavedModel's serving signature called like a Keras model.

    Inputs are positional in sorted-name order and outputs come back in sorted-key order,
    the order `signature_model` gives the graph's inputs and outputs. `trackable` is the
    restored object owning the variables, kept alive as long as the signature is called.
    """

    def __init__(self, trackable: Any, signature: str = "serving_default") -> None:
        self.trackable = trackable
        self.function = trackable.signatures[signature]
        self.inputs = sorted(self.function.structured_input_signature[1])

    def __call__(self, values: Any, training: bool = False) -> list[Any]:
        """Run the signature; `training` is accepted for the Keras call convention."""
        values = values if isinstance(values, list) else [values]
        result = self.function(**dict(zip(self.inputs, values, strict=True)))
        return [result[name] for name in sorted(result)]
