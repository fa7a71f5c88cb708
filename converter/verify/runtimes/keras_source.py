"""The reference: the original model file, loaded by the library that wrote it."""

from __future__ import annotations

from typing import Any

import numpy as np


class KerasSource:
    """Keras 3 for .keras and Keras 3 .h5 files, tf.keras (tf-keras) for Keras 2 files."""

    name = "keras"
    accepts = "source"
    install_hint = "pip install 'keras>=3.15,<3.16' 'tf-keras>=2.21,<2.22'"

    def __init__(self) -> None:
        self.model: Any = None

    def load(self, path: str, loader: str) -> None:
        """Load without compiling and, for Keras 3, in safe mode (no bytecode)."""
        if loader == "tf_keras":
            import tf_keras

            self.model = tf_keras.models.load_model(path, compile=False)
        else:
            import keras

            self.model = keras.saving.load_model(path, compile=False, safe_mode=True)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Call the model in inference mode; inputs are positional, in the graph's order."""
        values = list(feeds.values())
        result = self.model(values if len(values) > 1 else values[0], training=False)
        results = result if isinstance(result, (list, tuple)) else [result]
        return [np.asarray(r) for r in results]
