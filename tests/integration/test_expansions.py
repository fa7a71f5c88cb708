"""Third-party layers expanded into built-in layers (issue 16): keras-tcn's TCN, a plug-in
registered through the `converter.expansions` entry point, and SavedModels whose custom
classes send them to their serving signature.

keras-tcn (installed by `scripts/setup.sh test` without its dependencies) computes the
expected outputs; converter never imports it to expand a layer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from converter import ConvertOptions, convert
from converter.load import load_path
from converter.normalize import normalize
from converter.reference import run_graph

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parents[2]

GRID: list[dict[str, Any]] = [
    {"nb_filters": 8, "kernel_size": 3, "dilations": [1, 2, 4], "return_sequences": True},
    {"nb_filters": 6, "kernel_size": 2, "nb_stacks": 2, "dilations": [1, 2],
     "use_skip_connections": False},
    {"nb_filters": 5, "kernel_size": 3, "dilations": [1, 2], "padding": "same", "length": 24},
    {"nb_filters": 4, "kernel_size": 2, "dilations": [1, 3, 6], "activation": "tanh",
     "use_batch_norm": True, "return_sequences": True, "dropout_rate": 0.3},
    {"nb_filters": 3, "kernel_size": 3, "dilations": [1, 4], "use_layer_norm": True,
     "go_backwards": True, "return_sequences": True},
    {"nb_filters": [3, 6, 6], "kernel_size": 2, "dilations": [1, 2, 4],
     "use_skip_connections": False, "activation": "elu"},
]


def tcn_model(keras: Any, tcn_class: Any, options: dict[str, Any], seed: int) -> Any:
    """A model around one TCN with random weights (batch-norm statistics too)."""
    options = dict(options)
    length = options.pop("length", None)
    inp = keras.Input((length, 3), name="signal")
    x = tcn_class(name="tcn", **options)(inp)
    model = keras.Model(inp, keras.layers.Dense(2, name="head")(x))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape) if "variance" in getattr(v, "path", v.name) else
                       rng.normal(0, 0.4, w.shape) for w, v in zip(model.get_weights(),
                                                                   model.weights)])
    return model


def expanded_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    """The NumPy interpreter of the expanded graph: no keras-tcn involved."""
    graph, records = normalize(load_path(path).graph)
    assert "TCN" not in {layer.class_name for layer in graph.layers}
    assert any(r.name == "expand_layers" and r.modified for r in records)
    return run_graph(graph, [x])[0]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """Each grid model as a Keras 3 .keras file, an input, and keras-tcn's own output."""
    import keras
    from tcn import TCN

    out = tmp_path_factory.mktemp("tcn")
    found = []
    for index, options in enumerate(GRID):
        model = tcn_model(keras, TCN, options, index)
        x = np.random.default_rng(index).normal(size=(3, options.get("length") or 37, 3))
        want = np.asarray(model(x.astype("float32"), training=False))
        model.save(out / f"tcn{index}.keras")
        found.append((out / f"tcn{index}.keras", x, want))
    return found


@pytest.mark.parametrize("index", range(len(GRID)), ids=[str(g) for g in GRID])
def test_the_expansion_computes_what_keras_tcn_computes(grid, index) -> None:
    path, x, want = grid[index]
    got = expanded_outputs(path, x)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5, np.abs(got - want).max()


KERAS2_WRITER = textwrap.dedent("""
    import os, sys, json
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf
    from tcn import TCN
    sys.path.insert(0, sys.argv[2])
    from tests.integration.test_expansions import GRID, tcn_model
    out = sys.argv[1]
    for index in (0, 3, 4):
        model = tcn_model(tf.keras, TCN, GRID[index], index)
        x = np.random.default_rng(index).normal(size=(3, 37, 3))
        np.save(f"{out}/tcn{index}.npy", np.asarray(model(x.astype("float32"), training=False)))
        model.save(f"{out}/tcn{index}.h5")
""")


def test_keras2_h5_files_written_by_keras_tcn_expand_the_same(tmp_path: Path) -> None:
    """tf.keras (TF_USE_LEGACY_KERAS) writes the TCN's weights by name (`norm_0/gamma:0`)."""
    done = subprocess.run([sys.executable, "-c", KERAS2_WRITER, str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for index in (0, 3, 4):
        x = np.random.default_rng(index).normal(size=(3, 37, 3))
        got = expanded_outputs(tmp_path / f"tcn{index}.h5", x)
        assert np.abs(got - np.load(tmp_path / f"tcn{index}.npy")).max() <= 1e-5


def test_a_tcn_model_converts_with_keras_tcn_as_the_reference(grid, tmp_path) -> None:
    path = grid[3][0]  # tanh, batch norm, dilations not powers of two
    result = convert(path, ConvertOptions(output_dir=tmp_path / "out", power="off"))
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert {c.status for c in result.parity} == {"passed"}
    assert result.report["reference"]["runtime"] == "keras"  # keras-tcn is importable here
    changes = next(p.changes for p in result.passes if p.name == "expand_layers")
    assert changes == ("tcn (keras-tcn TCN): keras-tcn TCN -> 29 built-in layers (3 residual "
                       "blocks)", "2 layers of the expansions that nothing reads left out")


def test_an_unknown_tcn_config_key_stops_the_load_naming_it(grid, tmp_path) -> None:
    from click.testing import CliRunner

    from converter.cli import main

    source = zipfile.ZipFile(grid[0][0])
    config = json.loads(source.read("config.json"))
    tcn = next(x for x in config["config"]["layers"] if x["class_name"] == "TCN")
    tcn["config"]["use_attention"] = True
    with zipfile.ZipFile(tmp_path / "future.keras", "w") as target:
        for item in source.namelist():
            data = json.dumps(config) if item == "config.json" else source.read(item)
            target.writestr(item, data)
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "future.keras"), "-o",
                                       str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "layer tcn (TCN): config key 'use_attention' is not one converter's expansion " \
           "knows" in " ".join(result.output.split())


PLUGIN = textwrap.dedent('''
    """A test package's expansion: ScaledDense(x) = scale * (x @ kernel)."""
    from converter.artifacts import Layer, LayerCall, TensorRef
    from converter.extensions import Fragment


    class ScaledDense:
        class_names = ("ScaledDense",)
        library = "scaled-layers"

        def expand(self, layer, inputs, weights, shapes):
            (kernel,) = weights.arrays
            dense = Layer(f"{layer.name}.dense", "Dense", {
                "name": f"{layer.name}.dense", "units": int(kernel.shape[-1]),
                "use_bias": False, "activation": "linear", "dtype": "float32"},
                (LayerCall(inputs),), (kernel * float(layer.config["scale"]),))
            return Fragment((dense,), (TensorRef(dense.name),), ("Dense, scale folded",))


    EXPANSION = ScaledDense()
''')


def test_a_plugin_registered_through_the_entry_point_expands_end_to_end(tmp_path) -> None:
    import keras

    @keras.saving.register_keras_serializable(package="scaled")
    class ScaledDense(keras.layers.Layer):
        def __init__(self, units: int, scale: float, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.units, self.scale = units, scale

        def build(self, shape: Any) -> None:
            self.kernel = self.add_weight(shape=(shape[-1], self.units))

        def call(self, x: Any) -> Any:
            return self.scale * keras.ops.matmul(x, self.kernel)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "units": self.units, "scale": self.scale}

    inp = keras.Input((None, 3))
    x = ScaledDense(4, 2.5, name="scaled")(keras.layers.Conv1D(6, 3)(inp))
    keras.Model(inp, keras.layers.GlobalAveragePooling1D()(x)).save(tmp_path / "plug.keras")
    site = tmp_path / "site"
    (site / "scaled_layers-1.0.dist-info").mkdir(parents=True)
    (site / "scaled_layers-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scaled-layers\nVersion: 1.0\n")
    (site / "scaled_layers-1.0.dist-info" / "entry_points.txt").write_text(
        "[converter.expansions]\nscaled_dense = scaled_layers:EXPANSION\n")
    (site / "scaled_layers.py").write_text(PLUGIN)
    command = [sys.executable, "-m", "converter", "convert", str(tmp_path / "plug.keras"),
               "-q", "--power", "off"]
    bare = subprocess.run([*command, "-o", str(tmp_path / "bare")], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert bare.returncode == 3 and "scaled (class ScaledDense" in bare.stdout + bare.stderr
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    done = subprocess.run([*command, "-o", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=900, cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {c["status"] for c in report["parity"]} == {"passed"}
    assert report["reference"]["runtime"] == "numpy"  # Keras cannot load the class here
    changes = next(p["changes"] for p in report["passes"] if p["name"] == "expand_layers")
    assert changes == ["scaled (scaled-layers ScaledDense): Dense, scale folded"]
    listed = subprocess.run([sys.executable, "-m", "converter", "inspect", "--json",
                             str(tmp_path / "plug.keras")], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env=environment)
    rows = json.loads(listed.stdout)["expansions"]
    assert {"class_name": "ScaledDense", "library": "scaled-layers",
            "source": "scaled-layers: scaled_dense = scaled_layers:EXPANSION"} in rows
    assert {"TCN"} <= {row["class_name"] for row in rows}


def test_a_savedmodel_with_an_unregistered_custom_layer_converts_from_its_signature(
        tmp_path: Path) -> None:
    import tf_keras

    class Gate(tf_keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return x * tf_keras.activations.sigmoid(x)

    inp = tf_keras.Input((40, 2))
    x = Gate(name="gate")(tf_keras.layers.Conv1D(4, 3, activation="relu")(inp))
    model = tf_keras.Model(inp, tf_keras.layers.Dense(2)(tf_keras.layers.Flatten()(x)))
    model.save(tmp_path / "saved", save_format="tf")
    result = convert(tmp_path / "saved", ConvertOptions(output_dir=tmp_path / "out",
                                                        power="off"))
    assert result.exit_code == 0, [c.reason for c in result.parity if not c.passed]
    assert {c.status for c in result.parity} - {"skipped"} == {"passed"}
    (skipped,) = result.passes
    assert skipped.name == "normalization skipped"
    assert skipped.changes[0].startswith("its Keras metadata names Gate, which converter "
                                         "neither has nor expands")
    assert result.report["reference"]["loader"] == "tf_saved_model"
