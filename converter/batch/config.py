"""The batch file: TOML with [defaults] and [[models]], checked before anything is converted.

```
[defaults]
to = ["tflite", "onnx"]          # any convert option, by its flag or field name
[[models]]
path = "models/a.keras"          # relative to this file
[[models]]
path = "models/b_weights.h5"
arch = "models/b.json"
precision = ["fp32", "fp16"]     # per-model overrides
```
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from converter.errors import ConverterError, UsageError
from converter.options import ConvertOptions

# Config key -> ConvertOptions field: every convert option but the output directory (the
# batch's -o decides it); flag spellings (dashes, "runtime", "timeout") accepted.
FIELDS = {f.name: f.name for f in fields(ConvertOptions) if f.name != "output_dir"}
FIELDS |= {"runtime": "runtimes", "timeout": "timeout_s"}
PATHS = ("arch", "inputs", "calibration")
MODEL_KEYS = ("path", "name")


@dataclass(frozen=True)
class BatchModel:
    """One model of the batch: its position, output name, source and convert options."""

    index: int
    name: str
    source: Path
    options: ConvertOptions


def read_config(path: Path, output_dir: Path) -> list[BatchModel]:
    """Every model of the batch file with its options; a usage error names the bad entry."""
    try:
        config = tomllib.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such batch file") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a TOML batch file ({exc})") from exc
    unknown = sorted(set(config) - {"defaults", "models"})
    models = config.get("models")
    if unknown or not isinstance(models, list) or not models:
        raise UsageError(f"{path}: needs one or more [[models]] tables (each with a path) and "
                         f"optionally [defaults]" + (f"; unknown table {unknown[0]!r}"
                                                     if unknown else ""))
    defaults = config.get("defaults", {})
    base = Path(path).parent
    flags = [dict(settings(defaults, "[defaults]", base))]
    entries = []
    for index, model in enumerate(models):
        where = f"models[{index}]"
        if not isinstance(model, dict) or not isinstance(model.get("path"), str):
            raise UsageError(f"{path}: {where} needs path = \"...\" (relative to {path})")
        entries.append((index, base / model["path"], model.get("name"),
                        {**flags[0], **settings(model, where, base)}))
    names = unique_names([(source, name) for _, source, name, _ in entries], path)
    return [model_of(index, name, source, options, output_dir, path)
            for (index, source, _, options), name in zip(entries, names, strict=True)]


def settings(table: Any, where: str, base: Path) -> dict[str, Any]:
    """The convert options of one table, keyed by ConvertOptions field; paths made relative."""
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} must be a table of convert options")
    found = {}
    for key, value in table.items():
        field = FIELDS.get(key.replace("-", "_"))
        if key in MODEL_KEYS and where != "[defaults]":
            continue
        if field is None:
            raise UsageError(f"{where}: unknown option {key!r}; options are "
                             f"{', '.join(sorted(FIELDS))} (and path, name in [[models]])")
        found[field] = base / value if field in PATHS and isinstance(value, str) else value
    return found


def unique_names(models: list[tuple[Path, str | None]], path: Path) -> list[str]:
    """Each model's output directory name: given, else the file stem.

    Where two stems collide, the suffix is added (model.keras, model.h5 -> model-keras,
    model-h5).
    """
    stems = [name or source.stem for source, name in models]
    given = [name for _, name in models if name]
    if len(given) != len(set(given)):
        raise UsageError(f"{path}: two models have the same name; names must be unique")
    names = [stem if stems.count(stem) == 1 or name else
             f"{stem}-{source.suffix.lstrip('.') or 'dir'}"
             for stem, (source, name) in zip(stems, models, strict=True)]
    if len(names) != len(set(names)):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"{path}: more than one model would be written to {twice[0]!r}; "
                         "give them distinct name = \"...\" entries")
    for name in names:
        if not name or "/" in name or name.startswith("."):
            raise UsageError(f"{path}: model name {name!r} cannot be a directory name")
    return names


def model_of(index: int, name: str, source: Path, flags: dict[str, Any], output_dir: Path,
             path: Path) -> BatchModel:
    """Validated options of one model (a bad value is a usage error naming the model)."""
    try:
        options = ConvertOptions(output_dir=output_dir / name, **flags)
    except ConverterError as exc:
        raise UsageError(f"{path}: models[{index}] ({name}): {exc.message}") from exc
    except TypeError as exc:
        raise UsageError(f"{path}: models[{index}] ({name}): {exc}") from exc
    return BatchModel(index, name, source, options)
