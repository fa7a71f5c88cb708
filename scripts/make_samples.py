#!/usr/bin/env python
"""Regenerate sample_models/files/ bit for bit from the seeded catalogue.

Usage: make_samples.py [--out DIR] [--only NAME ...]

Weights come from NumPy generators seeded per (sample, layer, weight), never from Keras
initialisers, so Keras 3 and tf.keras write the same numbers. The files are then made
reproducible: zip entries get a fixed timestamp, metadata.json a fixed date_saved, and the
config forms a live Keras object cannot emit (an int kernel_size) are written in verbatim.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from sample_models.catalogue import CATALOGUE, Sample  # noqa: E402

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_DATE_SAVED = "1980-01-01@00:00:00"
FILES = Path(__file__).resolve().parent.parent / "sample_models" / "files"


def draw(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A weight of plausible scale for its role, so activations stay in a useful range."""
    leaf = name.split("/")[-1].split(":")[0]
    if leaf == "moving_variance":
        return rng.uniform(0.5, 1.5, shape)
    if leaf == "gamma":
        return rng.uniform(0.8, 1.2, shape)
    if leaf in ("beta", "moving_mean", "bias"):
        return rng.uniform(-0.1, 0.1, shape)
    if leaf == "embeddings":
        return rng.normal(0.0, 0.5, shape)
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    limit = float(np.sqrt(3.0 / max(fan_in, 1)))
    return rng.uniform(-limit, limit, shape)


def set_weights(model: Any, seed: int) -> None:
    """Assign every weight from a generator keyed by (seed, layer index, weight index)."""
    for li, layer in enumerate(model.layers):
        for wi, weight in enumerate(layer.weights):
            rng = np.random.default_rng([seed, li, wi])
            value = draw(weight.name, tuple(weight.shape), rng).astype("float32")
            weight.assign(value)


def rewrite_layer_forms(config: dict[str, Any], forms: dict[str, dict[str, Any]]) -> None:
    """Write the catalogue's verbatim config forms into a saved model config."""
    for layer in config["config"]["layers"]:
        name = layer["config"]["name"]
        layer["config"].update(forms.get(name, {}))


def renumber_shared_objects(node: Any, seen: dict[int, int]) -> None:
    """Replace Keras 3's `shared_object_id` (a CPython id()) by its order of appearance.

    Equal ids keep meaning "the same object", but no longer depend on memory addresses.
    """
    if isinstance(node, dict):
        if isinstance(node.get("shared_object_id"), int):
            node["shared_object_id"] = seen.setdefault(node["shared_object_id"], len(seen) + 1)
        for value in node.values():
            renumber_shared_objects(value, seen)
    elif isinstance(node, list):
        for value in node:
            renumber_shared_objects(value, seen)


def make_zip_reproducible(path: Path, sample: Sample) -> None:
    """Rewrite a .keras zip with fixed timestamps and date_saved, stable ids, the config forms."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info, zf.read(info.filename)) for info in zf.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info, data in entries:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = FIXED_DATE_SAVED
                data = json.dumps(meta, sort_keys=True).encode()
            elif info.filename == "config.json":
                config = json.loads(data)
                rewrite_layer_forms(config, dict(sample.config_forms))
                renumber_shared_objects(config, {})
                data = json.dumps(config).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            out.writestr(fixed, data)
    path.write_bytes(buffer.getvalue())


def rewrite_h5_forms(path: Path, sample: Sample) -> None:
    """Write the catalogue's config forms into a Keras 2 .h5 `model_config` attribute."""
    if not sample.config_forms:
        return
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        rewrite_layer_forms(config, dict(sample.config_forms))
        f.attrs["model_config"] = json.dumps(config)


def write_sample(sample: Sample, out: Path) -> list[Path]:
    """Build, weight and save one sample as .keras and Keras 2 .h5; return the paths."""
    import keras
    import tf_keras

    out.mkdir(parents=True, exist_ok=True)
    keras_path, h5_path = out / f"{sample.name}.keras", out / f"{sample.name}.h5"
    k2_model = sample.build(tf_keras)
    set_weights(k2_model, sample.seed)
    k2_model.save(h5_path, include_optimizer=False)
    rewrite_h5_forms(h5_path, sample)
    k3_model = sample.build(keras) if sample.keras3 else k2_model
    if sample.keras3:
        set_weights(k3_model, sample.seed)
    k3_model.save(keras_path)
    make_zip_reproducible(keras_path, sample)
    return [keras_path, h5_path]


def main(argv: list[str] | None = None) -> int:
    """Write the requested samples (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FILES)
    parser.add_argument("--only", nargs="*", choices=sorted(CATALOGUE), default=None)
    args = parser.parse_args(argv)
    for name in args.only or sorted(CATALOGUE):
        for path in write_sample(CATALOGUE[name], args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
