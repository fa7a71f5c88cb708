"""A seeded generator of broken and hostile model inputs.

`generate(seed, count, directory)` writes `count` cases under `directory`, each derived from
a bundled sample model by one corruption, and yields what it wrote. The same seed writes the
same bytes, so a failing case is reproduced by its seed and index alone.

Kinds: empty files, random bytes, truncated and byte-flipped .h5/.keras files, HDF5 files
with wrong or missing attributes, configs with absurd sizes or nested absurdly deep, .keras
zips with path-traversal members or a decompression bomb, NaN/inf weights, directories that
are not SavedModels, and payloads that would leave a marker file if anything in the model
file were executed (Lambda bytecode, module references, YAML object tags).
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from tests.conftest import sample

BASES = ("kim_cnn.h5", "ecg_classifier.h5", "tcn.h5", "kim_cnn.keras", "ecg_classifier.keras",
         "conv_bilstm.keras")
MARKER_MODULE = "converter_fuzz_marker"  # importing it would create the marker file


@dataclass(frozen=True)
class Case:
    """One generated input: its path, the corruption, and an --arch file where one applies."""

    index: int
    kind: str
    path: Path
    arch: Path | None = None


Maker = Callable[[random.Random, Path, Path], tuple[Path, Path | None]]


def generate(seed: int, count: int, directory: Path, marker: Path) -> Iterator[Case]:
    """Write `count` cases (kinds in turn, details drawn from `seed`) under `directory`.

    `marker` is the file a payload would create if it ran; the caller asserts it never does.
    """
    directory.mkdir(parents=True, exist_ok=True)
    write_marker_module(directory, marker)
    kinds = sorted(MAKERS)
    for index in range(count):
        kind = kinds[index % len(kinds)]
        rng = random.Random(f"{seed}-{index}")
        folder = directory / f"{index:05d}-{kind}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        path, arch = MAKERS[kind](rng, folder, marker)
        yield Case(index, kind, path, arch)


def write_marker_module(directory: Path, marker: Path) -> None:
    """A module that creates the marker when imported (put on PYTHONPATH by the harness)."""
    (directory / f"{MARKER_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "class Evil:\n    def __init__(self, *a, **k):\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "def evil(*a, **k):\n"
        f"    open({str(marker)!r}, 'w').close()\n")


def base(rng: random.Random, suffix: str | None = None) -> Path:
    """A bundled sample to corrupt (of the given suffix when one is asked for)."""
    choices = [b for b in BASES if suffix is None or b.endswith(suffix)]
    return sample(rng.choice(choices))


def picked(rng: random.Random, folder: Path, suffix: str | None = None) -> tuple[Path, Path]:
    """A sample to corrupt and where its corrupted copy goes."""
    source = base(rng, suffix)
    return source, folder / source.name


def copied_h5(rng: random.Random, folder: Path) -> Path:
    """An .h5 sample copied into `folder`, to be damaged in place."""
    source, path = picked(rng, folder, ".h5")
    shutil.copy(source, path)
    return path


def empty(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    path = folder / f"model{rng.choice(['.h5', '.keras', '.hdf5'])}"
    path.write_bytes(b"")
    return path, None


def random_bytes(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    path = folder / f"model{rng.choice(['.h5', '.keras', '.hdf5'])}"
    head = rng.choice([b"", b"\x89HDF\r\n\x1a\n", b"PK\x03\x04"])  # a valid signature, or none
    path.write_bytes(head + rng.randbytes(rng.randint(1, 1 << 16)))
    return path, None


def truncated(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder)
    data = source.read_bytes()
    path.write_bytes(data[:rng.randint(1, len(data) - 1)])
    return path, None


def flipped(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder)
    data = bytearray(source.read_bytes())
    for _ in range(rng.randint(1, 64)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    return path, None


def hdf5_attributes(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    path = copied_h5(rng, folder)
    with h5py.File(path, "r+") as handle:
        weights = handle["model_weights"]
        edit = rng.choice(["drop-config", "config-text", "config-type", "version", "backend",
                           "layer-names", "drop-group", "weight-shape", "layer-no-class"])
        if edit == "drop-config":
            del handle.attrs["model_config"]
        elif edit == "config-text":
            handle.attrs["model_config"] = rng.randbytes(rng.randint(0, 200)).hex()
        elif edit == "config-type":
            handle.attrs["model_config"] = json.dumps(rng.choice([[1, 2], 3, "x", None, {}]))
        elif edit == "version":
            handle.attrs["keras_version"] = rng.choice([b"\xff\xfe", "99.x", ""])
        elif edit == "backend":
            handle.attrs["backend"] = rng.choice(["theano2", "", "\x01\x02"])
        elif edit == "layer-names":
            weights.attrs["layer_names"] = np.array([b"ghost", b"missing"])
        elif edit == "drop-group":
            del weights[rng.choice(sorted(n for n in weights if len(weights[n])))]
        elif edit == "weight-shape":
            group = sorted(n for n in weights if len(weights[n].attrs.get("weight_names", [])))
            layer = weights[rng.choice(group)]
            name = layer.attrs["weight_names"][0]
            name = name.decode() if isinstance(name, bytes) else name
            del layer[name]
            layer[name] = np.zeros((rng.randint(1, 9),), np.float32)
        else:
            config = json.loads(handle.attrs["model_config"])
            victim = rng.choice(config["config"]["layers"])
            victim.pop(rng.choice(["class_name", "config"]))
            handle.attrs["model_config"] = json.dumps(config)
    return path, None


def edit_config(source: Path, path: Path, change: Callable[[dict], object]) -> None:
    """Copy a sample with its model config rewritten by `change` (h5 attribute or zip member)."""
    if source.suffix == ".h5":
        shutil.copy(source, path)
        with h5py.File(path, "r+") as handle:
            config = json.loads(handle.attrs["model_config"])
            handle.attrs["model_config"] = json.dumps(change(config))
        return
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "config.json":
                data = json.dumps(change(json.loads(data))).encode()
            out.writestr(info, data)


def absurd_sizes(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder)
    key, value = rng.choice([("units", 10**12), ("filters", 10**9), ("kernel_size", [10**9]),
                             ("batch_shape", [None, 10**12, 4]), ("units", -5),
                             ("pool_size", [10**10]), ("output_dim", 2**40)])

    def change(config: dict) -> dict:
        for layer in config["config"]["layers"]:
            cfg = layer["config"]
            if key in cfg or (key == "batch_shape" and layer["class_name"] == "InputLayer"):
                cfg[key] = value
                if key == "batch_shape":
                    cfg.pop("batch_input_shape", None)
        return config

    edit_config(source, path, change)
    return path, None


def deep_config(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder)
    depth = rng.choice([150, 5_000, 200_000])

    def change(config: dict) -> dict:
        nested: object = 1
        for _ in range(depth):
            nested = [nested] if rng.random() < 0.5 else {"k": nested}
        config["config"]["layers"][1]["config"]["extra"] = nested
        return config

    try:
        edit_config(source, path, change)
    except RecursionError:  # json.dumps itself gives up: write the text by hand
        text = '{"class_name": "Sequential", "config": ' + "[" * depth + "]" * depth + "}"
        path = folder / "model.keras"
        with zipfile.ZipFile(path, "w") as out:
            out.writestr("config.json", text)
            out.writestr("metadata.json", "{}")
            out.writestr("model.weights.h5", b"")
    return path, None


def zip_traversal(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder, ".keras")
    evil = rng.choice(["../../evil.txt", "/etc/evil", "assets/../../x", "C:/evil.txt"])
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            out.writestr(info, original.read(info))
        out.writestr(evil, b"payload")
    return path, None


def zip_bomb(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    source, path = picked(rng, folder, ".keras")
    member = rng.choice(["model.weights.h5", "config.json"])
    # deflate level 1: the same zeros written 2.3x faster (96 or 512 MiB in 0.4 or 2.3 MB)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(
            path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in original.infolist():
            if info.filename != member:
                out.writestr(info, original.read(info))
        with out.open(member, "w", force_zip64=True) as stream:
            block = bytes(1 << 22)
            for _ in range(rng.choice([24, 128])):
                stream.write(block)
    return path, None


def non_finite(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    path = copied_h5(rng, folder)
    with h5py.File(path, "r+") as handle:
        datasets: list[h5py.Dataset] = []
        handle["model_weights"].visititems(
            lambda _, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
        target = rng.choice(sorted(datasets, key=lambda d: d.name))
        values = target[...]
        values.flat[rng.randrange(values.size)] = rng.choice([np.nan, np.inf, -np.inf])
        target[...] = values
    return path, None


def not_a_savedmodel(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, None]:
    path = folder / "saved"
    path.mkdir()
    content = rng.choice(["empty", "files", "pb", "metadata"])
    if content == "files":
        (path / "readme.txt").write_text("not a model")
        (path / "variables").mkdir()
    elif content == "pb":
        (path / "saved_model.pb").write_bytes(rng.randbytes(rng.randint(0, 4096)))
    elif content == "metadata":
        (path / "saved_model.pb").write_bytes(b"")
        (path / "keras_metadata.pb").write_bytes(rng.randbytes(512))
    return path, None


def code_payload(rng: random.Random, folder: Path, marker: Path) -> tuple[Path, Path | None]:
    """A model whose config names code to run; loading it must run none of it."""
    how = rng.choice(["module-class", "function-activation", "registered-name", "yaml-tag",
                      "lambda-bytecode"])
    if how == "yaml-tag":
        arch = folder / "model.yaml"
        arch.write_text(f"class_name: Sequential\nconfig: !!python/object/apply:os.system "
                        f"['touch {marker}']\n")
        weights = folder / "weights.h5"
        with h5py.File(weights, "w") as handle:
            handle.attrs["layer_names"] = np.array([], dtype="S1")
        return weights, arch
    source, path = picked(rng, folder, ".keras")

    def change(config: dict) -> dict:
        layers = config["config"]["layers"]
        victim = layers[min(2, len(layers) - 1)]
        if how == "module-class":
            victim.update(module=MARKER_MODULE, class_name="Evil",
                          registered_name=f"{MARKER_MODULE}>Evil")
        elif how == "function-activation":
            victim["config"]["activation"] = {"module": MARKER_MODULE, "class_name": "function",
                                              "config": "evil", "registered_name": "evil"}
        elif how == "registered-name":
            victim["registered_name"] = f"{MARKER_MODULE}>Evil"
            victim["class_name"] = "Evil"
        else:
            code = (f"import os\nos.system('touch {marker}')\n").encode().hex()
            victim.update(class_name="Lambda", module="keras.layers",
                          registered_name=None)
            victim["config"] = {"name": victim["config"].get("name", "lambda"),
                                "function": {"class_name": "__lambda__",
                                             "config": {"code": code, "defaults": None,
                                                        "closure": None}}}
        return config

    edit_config(source, path, change)
    return path, None


MAKERS: dict[str, Maker] = {
    "empty": empty, "random-bytes": random_bytes, "truncated": truncated, "flipped": flipped,
    "hdf5-attributes": hdf5_attributes, "absurd-sizes": absurd_sizes,
    "deep-config": deep_config, "zip-traversal": zip_traversal, "zip-bomb": zip_bomb,
    "non-finite": non_finite, "not-a-savedmodel": not_a_savedmodel,
    "code-payload": code_payload,
}

__all__ = ["Case", "MAKERS", "generate"]
