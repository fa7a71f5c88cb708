"""Read layer weights from HDF5 with h5py alone, in the order Keras 3's `layer.weights` uses.

Two layouts exist:
- Keras 2 / tf.keras / Keras 3 legacy `.h5`: a group per layer name whose `weight_names`
  attribute lists the datasets in weight order.
- Keras 3 `model.weights.h5` (inside a `.keras` zip): a group per layer *path*
  (`layers/conv1d_1`), the real layer name in its `vars` group's `name` attribute, and
  sub-layers (a Bidirectional's forward and backward LSTM) as child groups. HDF5 lists
  children alphabetically, so composite layers need the child order Keras creates them in.
"""

from __future__ import annotations

import re

import h5py
import numpy as np

from converter.errors import LoadError

# Sub-layer attributes in the order Keras 3 creates (and lists the weights of) them (tf.keras
# writes them with a leading underscore: `_query_dense`); any other child follows,
# alphabetically.
CHILD_ORDER = (
    "forward_layer",
    "backward_layer",
    "layer",
    "cell",
    "query_dense",
    "key_dense",
    "value_dense",
    "output_dense",
)


def text_attr(node: h5py.Group | h5py.File, key: str) -> str | None:
    """A string attribute, decoded whether h5py stored it as bytes or str."""
    if key not in node.attrs:
        return None
    value = node.attrs[key]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def name_list(node: h5py.Group, key: str) -> list[str]:
    """An attribute holding a list of names (`layer_names`, `weight_names`)."""
    if key not in node.attrs:
        return []
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in node.attrs[key]]


def legacy_weights(
    root: h5py.Group,
) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[str, tuple[str, ...]]]:
    """Weights from the Keras 1/2 layout (`layer_names`, per-layer `weight_names`).

    Returns the arrays and their stored names per layer: Keras 1 files need the names to
    tell recurrent gates apart, and their `:0` suffix (or its absence) tells the backend.
    """
    weights: dict[str, tuple[np.ndarray, ...]] = {}
    names: dict[str, tuple[str, ...]] = {}
    for name in name_list(root, "layer_names"):
        if name not in root:
            raise LoadError(f"weights of layer {name} are listed in layer_names but missing")
        group = root[name]
        arrays = []
        weight_names = name_list(group, "weight_names")
        for weight_name in weight_names:
            if weight_name not in group:
                raise LoadError(f"layer {name}: weight {weight_name} is listed but missing")
            arrays.append(np.asarray(group[weight_name][()]))
        weights[name] = tuple(arrays)
        names[name] = tuple(weight_names)
    return weights, names


def keras3_weights(
    root: h5py.File, layers: list[tuple[str, str]]
) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[str, tuple[str, ...]]]:
    """Weights from a Keras 3 `model.weights.h5` and where each was stored, by layer name.

    The paths are inside the layer's group (`residual_block_0/conv1D_0/vars/0`).

    `layers` is the model's (name, class name) list in config order. Keras 3 records each
    layer's name in its `vars` group; tf.keras' own `.keras` writer does not, and then the
    group path is Keras' generated one (snake_case class name, `_1`, `_2` for repeats).
    """
    if "layers" not in root:
        return {}, {}
    generated = dict(zip(saving_paths([c for _, c in layers]), (n for n, _ in layers), strict=True))
    weights: dict[str, tuple[np.ndarray, ...]] = {}
    names: dict[str, tuple[str, ...]] = {}
    for path, group in root["layers"].items():
        if "layers" in group:
            raise LoadError(
                f"layer group {path} is a nested model; nested models are not supported yet: "
                "rebuild the model flat (one Functional model) and save it again"
            )
        name = text_attr(group["vars"], "name") if "vars" in group else None
        stored = collect_vars(group)
        weights[name or generated.get(path, path)] = tuple(a for _, a in stored)
        names[name or generated.get(path, path)] = tuple(p for p, _ in stored)
    return weights, names


def saving_paths(class_names: list[str]) -> list[str]:
    """The group names Keras' `.keras` writer gives layers of these classes, in order."""
    used: dict[str, int] = {}
    paths = []
    for class_name in class_names:
        words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
        base = re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
        if base in used:
            used[base] += 1
            paths.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            paths.append(base)
    return paths


def collect_vars(group: h5py.Group, prefix: str = "") -> list[tuple[str, np.ndarray]]:
    """(path, array) of a layer's variables: its own in index order, then its sub-layers'."""
    stored: list[tuple[str, np.ndarray]] = []
    if "vars" in group:
        own = group["vars"]
        stored.extend((f"{prefix}vars/{key}", np.asarray(own[key][()]))
                      for key in sorted(own.keys(), key=int))
    children = sorted(
        (k for k in group.keys() if k != "vars"),
        key=lambda k: (CHILD_ORDER.index(k.lstrip("_")) if k.lstrip("_") in CHILD_ORDER
                       else len(CHILD_ORDER), k),
    )
    for child in children:
        stored.extend(collect_vars(group[child], f"{prefix}{child}/"))
    return stored


def weights_root(handle: h5py.File) -> h5py.Group:
    """The group holding per-layer weights in a legacy file (full model or weights only)."""
    root = handle["model_weights"] if "model_weights" in handle else handle
    if not isinstance(root, h5py.Group) or "layer_names" not in root.attrs:
        raise LoadError("the HDF5 file has no Keras weights (no layer_names attribute)")
    return root

