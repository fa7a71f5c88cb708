"""The batch file and --shard: what is accepted, and the usage errors (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.batch import parse_shard
from converter.batch.config import read_config
from converter.cli import main
from converter.errors import UsageError


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "batch.toml"
    path.write_text(text)
    return path


def test_defaults_overrides_relative_paths_and_names(tmp_path: Path) -> None:
    path = config(tmp_path, """
[defaults]
to = ["tflite"]
precision = "fp16"
timeout = 60
[[models]]
path = "models/a.keras"
[[models]]
path = "models/b_weights.h5"
arch = "models/b.json"
precision = ["fp32", "int8-dynamic"]
runtime = ["tflite-xnnpack"]
[[models]]
path = "other/a.h5"
[[models]]
path = "zoo/saved"
name = "saved_model"
""")
    models = read_config(path, Path("out"))
    assert [m.name for m in models] == ["a-keras", "b_weights", "a-h5", "saved_model"]
    assert [m.index for m in models] == [0, 1, 2, 3]
    a, b = models[0].options, models[1].options
    assert models[0].source == tmp_path / "models/a.keras"
    assert (a.to, a.precision, a.timeout_s, a.output_dir) == (
        ("tflite",), ("fp16",), 60, Path("out/a-keras"))
    assert b.arch == tmp_path / "models/b.json"
    assert (b.precision, b.runtimes, b.to) == (("fp32", "int8-dynamic"), ("tflite-xnnpack",),
                                               ("tflite",))


def test_every_convert_option_is_a_batch_key(tmp_path: Path) -> None:
    # The README promises "any convert option": power, per-layer and allow-inconclusive were
    # once refused as unknown
    path = config(tmp_path, """
[defaults]
power = "full"
per-layer = true
[[models]]
path = "a.keras"
allow_inconclusive = true
output_dir = "elsewhere"
""")
    with pytest.raises(UsageError, match="unknown option 'output_dir'"):
        read_config(path, Path("out"))
    path.write_text(path.read_text().replace('output_dir = "elsewhere"\n', ""))
    (model,) = read_config(path, Path("out"))
    options = model.options
    assert (options.power, options.per_layer, options.allow_inconclusive) == ("full", True, True)
    assert options.output_dir == Path("out/a")


@pytest.mark.parametrize(("text", "message"), [
    ("", "needs one or more [[models]] tables"),
    ("[[models]]\npath = 'a.h5'\npower = 'some'\n", "models[0] (a): --power must be"),
    ("[[models]]\nname = 'x'\n", "models[0] needs path"),
    ("[defaults]\nprecison = 'fp16'\n[[models]]\npath = 'a.h5'\n",
     "[defaults]: unknown option 'precison'"),
    ("[[models]]\npath = 'a.h5'\nopset = 99\n", "models[0] (a): --opset must be between 9"),
    ("[[models]]\npath = 'a.h5'\nprecision = 5\n", "models[0] (a):"),
    ("[[models]]\npath = 'a.h5'\n[[models]]\npath = 'b/a.h5'\n",
     "more than one model would be written to 'a-h5'"),
    ("[[models]]\npath = 'a.h5'\nname = 'x'\n[[models]]\npath = 'b.h5'\nname = 'x'\n",
     "two models have the same name"),
    ("[[models]]\npath = 'a.h5'\nname = '../up'\n", "cannot be a directory name"),
    ("[[models]\npath = 'a.h5'\n", "not a TOML batch file"),
    ("[tools]\n[[models]]\npath = 'a.h5'\n", "unknown table 'tools'"),
])
def test_bad_batch_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        read_config(config(tmp_path, text), Path("out"))
    assert message in raised.value.message


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_shard_must_be_i_of_n(text: str) -> None:
    with pytest.raises(UsageError, match="give i/n with 1 <= i <= n"):
        parse_shard(text)
    assert parse_shard("2/4") == (2, 4)


def test_batch_cli_usage_errors_exit_2_and_write_nothing(tmp_path: Path) -> None:
    path = config(tmp_path, "[[models]]\npath = 'a.h5'\nopset = 99\n")
    out = tmp_path / "out"
    for args in (["--shard", "5/4"], ["-j", "0"], [], ["--junit", str(tmp_path / "j.txt")]):
        result = CliRunner().invoke(main, ["batch", str(path), "-o", str(out), *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert not out.exists()
    missing = CliRunner().invoke(main, ["batch", str(tmp_path / "none.toml"), "-o", str(out)])
    assert missing.exit_code == 2 and "no such batch file" in missing.output


@pytest.mark.parametrize(("environment", "count", "shard"), [
    ({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}, None, (2, 3)),  # GitLab, 1-based
    ({"JOB_COMPLETION_INDEX": "0"}, 4, (1, 4)),  # Kubernetes, 0-based, --shard-count
    ({"JOB_COMPLETION_INDEX": "3", "CONVERTER_SHARD_COUNT": "4"}, None, (4, 4)),
])
def test_shard_auto_reads_the_engine(environment: dict, count: int | None,
                                     shard: tuple[int, int]) -> None:
    assert parse_shard("auto", environment, count) == shard


@pytest.mark.parametrize(("environment", "message"), [
    ({}, "none of the engine variables is set"),
    ({"JOB_COMPLETION_INDEX": "1"}, "pass --shard-count N"),
    ({"JOB_COMPLETION_INDEX": "4", "CONVERTER_SHARD_COUNT": "4"}, "give index 4 of 4"),
    ({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "2"}, "give index 0 of 2, not a shard"),
])
def test_shard_auto_without_usable_engine_variables_is_a_usage_error(
        environment: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_shard("auto", environment)
