"""Layer dtypes as plain names.

Given: a layer `dtype` as Keras 3's DTypePolicy object config or tf.keras' Policy config.
Result: the policy's name as a string ("float32", "mixed_float16"), which every Keras 3 layer
constructor accepts and the report can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.artifacts import Layer
from converter.errors import LoadError
from converter.graph.passes import ConfigPass


def rewrite(layer: Layer) -> tuple[Mapping[str, Any], list[str]] | None:
    """Replace a dtype policy dict by its name."""
    dtype = layer.config.get("dtype")
    if not isinstance(dtype, Mapping):
        return None
    name = dtype.get("config", {}).get("name") if isinstance(dtype.get("config"), Mapping) else None
    if not isinstance(name, str):
        raise LoadError(f"layer {layer.name}: dtype {dict(dtype)} names no policy")
    return {**layer.config, "dtype": name}, [f"dtype policy {dtype.get('class_name')} -> {name!r}"]


PASS = ConfigPass("dtype_names", rewrite)
