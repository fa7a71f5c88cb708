"""Architecture files (`--arch`): `model.to_json()` / `model.to_yaml()` output, Keras 1-3.

YAML from Keras 1 carries `!!python/tuple` tags; the loader is PyYAML's safe loader plus a
tuple constructor and nothing else, so any other Python tag (object construction) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from converter.errors import LoadError
from converter.load.config_text import parse_json_config, parse_yaml_config

MAX_ARCH_BYTES = 64 << 20


def read_architecture(path: Path) -> dict[str, Any]:
    """The model config object in a JSON or YAML architecture file."""
    try:
        size = path.stat().st_size
        if size > MAX_ARCH_BYTES:
            raise LoadError(f"{path}: {size} bytes is too large for an architecture file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LoadError(f"{path}: no such architecture file (--arch)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot be read as a text architecture file ({exc})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        value = parse_yaml_config(text, f"{path}:")
    else:
        value = parse_json_config(text, f"{path}:")
    if not isinstance(value, dict) or "class_name" not in value:
        raise LoadError(f"{path}: holds no model config (expected an object with class_name "
                        "and config, as model.to_json() writes)")
    return value
