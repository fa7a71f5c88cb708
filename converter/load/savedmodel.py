"""TensorFlow SavedModel directories, with Keras metadata (tf.keras) and without (Keras 3 export).

With metadata (`keras_metadata.pb`, or TF <= 2.5's metadata inside `saved_model.pb`), the
root object's JSON carries the model config: it becomes the graph like any other config, its
classes are checked before anything is loaded, and the weights are read by tf.keras from the
checkpoint (TensorFlow graphs only; no Python from the directory runs).
Without metadata there is no layer graph: the model is exported from its `serving_default`
signature, normalisation is skipped, and the report says so. The same holds where the
metadata names classes converter neither has nor expands (a user's own attention layer):
the traced graph is in the directory as data, and no Python from the model runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from converter.artifacts import LoadedModel, ModelGraph, Provenance
from converter.errors import LoadError, UnsupportedLayersError
from converter.load.config_graph import graph_from_config
from converter.load.config_text import parse_json_config
from converter.load.detect import directory_sha256
from converter.load.signature import signature_model


def untuple(value: Any) -> Any:
    """tf.keras metadata writes tuples as {"class_name": "__tuple__", "items": [...]}."""
    if isinstance(value, Mapping):
        if value.get("class_name") == "__tuple__" and "items" in value:
            return [untuple(v) for v in value["items"]]
        return {k: untuple(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untuple(v) for v in value]
    return value


def root_metadata(path: Path) -> dict[str, Any] | None:
    """The root object's Keras metadata JSON, or None when the directory has none."""
    from tensorflow.core.protobuf import saved_model_pb2

    if (path / "keras_metadata.pb").is_file():
        from tf_keras.protobuf import saved_metadata_pb2

        saved = saved_metadata_pb2.SavedMetadata()
        try:
            saved.ParseFromString((path / "keras_metadata.pb").read_bytes())
        except Exception as exc:  # protobuf's DecodeError has no stable import path
            raise LoadError(f"{path}: keras_metadata.pb is not Keras metadata ({exc})") from exc
        texts = [n.metadata for n in saved.nodes if n.node_path == "root"]
    else:
        model = saved_model_pb2.SavedModel()
        try:
            model.ParseFromString((path / "saved_model.pb").read_bytes())
        except Exception as exc:  # protobuf's DecodeError has no stable import path
            raise LoadError(f"{path}: saved_model.pb is not a SavedModel ({exc})") from exc
        nodes = model.meta_graphs[0].object_graph_def.nodes if model.meta_graphs else []
        texts = [nodes[0].user_object.metadata] if nodes and nodes[0].WhichOneof(
            "kind") == "user_object" else []
    if not texts or not texts[0]:
        return None
    metadata: dict[str, Any] = untuple(parse_json_config(texts[0], f"{path}: the Keras metadata"))
    return metadata


def read_savedmodel(
    path: Path, allow_lambda: bool, custom: Mapping[str, Any] | None = None
) -> LoadedModel:
    """A SavedModel directory as a LoadedModel."""
    metadata = root_metadata(path)
    if metadata is None or "config" not in metadata:
        return signature_model(path)
    config = {"class_name": metadata.get("class_name"), "config": metadata["config"]}
    graph = graph_from_config(config, {}, allow_lambda=allow_lambda)
    unknown = unknown_classes(graph, custom)
    if unknown:  # its traced graph is in the directory as data: convert that
        return signature_model(path, (
            f"its Keras metadata names {', '.join(unknown)}, which converter neither has "
            "nor expands (nor does --custom-objects give it), so its layer graph cannot be "
            "used; parity is checked against the signature itself"))
    weights = checkpoint_weights(path)
    graph = graph_from_config(config, weights, allow_lambda=allow_lambda)
    version = str(metadata.get("keras_version") or "2.x (SavedModel)")
    provenance = Provenance(str(path), directory_sha256(path), "savedmodel-keras", version,
                            "tensorflow", "TensorFlow SavedModel")
    return LoadedModel(graph, provenance, "tf_keras")


def unknown_classes(graph: ModelGraph, custom: Mapping[str, Any] | None) -> list[str]:
    """The classes of the graph no Keras here, expansion or --custom-objects class knows."""
    from converter.build import layer_classes
    from converter.extensions import installed

    claimed = installed().by_class
    rest = replace(graph, layers=tuple(x for x in graph.layers if x.class_name not in claimed))
    try:
        layer_classes(rest, custom)
    except UnsupportedLayersError as refused:  # it names every layer whose class is unknown
        return sorted({rest.layer(name).class_name for name, _ in refused.problems})
    return []


def checkpoint_weights(path: Path) -> dict[str, tuple[Any, ...]]:
    """Each layer's weights, as tf.keras restores them from the SavedModel checkpoint."""
    import numpy as np
    import tf_keras

    try:
        model = tf_keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # tf.keras raises many types for a broken directory
        raise LoadError(f"{path}: tf.keras cannot restore the SavedModel: "
                        f"{str(exc).splitlines()[0][:300]}") from exc
    return {layer.name: tuple(np.asarray(w) for w in layer.get_weights())
            for layer in model.layers}
