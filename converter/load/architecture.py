"""Architecture files (`--arch`): `model.to_json()` / `model.to_yaml()` output, Keras 1-3.

YAML from Keras 1 carries `!!python/tuple` tags; the loader is PyYAML's safe loader plus a
tuple constructor and nothing else, so any other Python tag (object construction) is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from converter.errors import LoadError

MAX_ARCH_BYTES = 64 << 20


def read_architecture(path: Path) -> dict[str, Any]:
    """The model config object in a JSON or YAML architecture file."""
    try:
        size = path.stat().st_size
        if size > MAX_ARCH_BYTES:
            raise LoadError(f"{path}: {size} bytes is too large for an architecture file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(f"{path}: no such architecture file (--arch)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot be read as a text architecture file ({exc})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        value = parse_yaml(text, path)
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{path}: is not valid JSON ({exc}); --arch takes the output of "
                            "model.to_json() or model.to_yaml()") from None
    if not isinstance(value, dict) or "class_name" not in value:
        raise LoadError(f"{path}: holds no model config (expected an object with class_name "
                        "and config, as model.to_json() writes)")
    return value


def parse_yaml(text: str, path: Path) -> Any:
    """YAML through the safe loader, extended with `!!python/tuple` only."""
    try:
        import yaml
    except ImportError:
        raise LoadError("reading a YAML architecture needs PyYAML: pip install pyyaml") from None

    class TupleLoader(yaml.SafeLoader):
        """SafeLoader that also reads Keras 1's tuples (as lists)."""

    def construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        return list(loader.construct_sequence(node))  # type: ignore[arg-type]

    TupleLoader.add_constructor("tag:yaml.org,2002:python/tuple", construct_tuple)
    try:
        return yaml.load(text, Loader=TupleLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(f"{path}: is not safe Keras YAML ({first}); only plain YAML and "
                        "!!python/tuple are read") from None
