"""Model configs from text, bounded: JSON or safe YAML, refused when nested absurdly deep.

Every config (HDF5 `model_config`, `.keras` config.json, `--arch` files, SavedModel
metadata) is parsed here. Python's parsers recurse once per level, so a hostile config of
100,000 nested lists would end in a RecursionError; real Keras configs nest about ten levels
(a model inside a layer wrapper inside a model adds four), so MAX_DEPTH leaves ample room.
"""

from __future__ import annotations

import json
from typing import Any

from converter.errors import LoadError

MAX_DEPTH = 100


def parse_json_config(data: str | bytes, where: str) -> Any:
    """A JSON value; a LoadError naming `where` when it is not JSON or nests too deep."""
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise LoadError(f"{where} nests deeper than Python's JSON parser can follow; "
                        "no model config does: the file is damaged or hostile") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"{where} is not valid JSON ({exc})") from exc
    return bounded(value, where)


def parse_yaml_config(text: str, where: str) -> Any:
    """YAML through the safe loader, extended with `!!python/tuple` only (read as lists)."""
    try:
        import yaml
    except ImportError as exc:
        raise LoadError("reading a YAML architecture needs PyYAML: pip install pyyaml") from exc

    class TupleLoader(yaml.SafeLoader):
        """SafeLoader that also reads Keras 1's tuples (as lists)."""

    def construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        return list(loader.construct_sequence(node))  # type: ignore[arg-type]

    TupleLoader.add_constructor("tag:yaml.org,2002:python/tuple", construct_tuple)
    try:
        value = yaml.load(text, Loader=TupleLoader)  # noqa: S506 - SafeLoader subclass
    except RecursionError as exc:
        raise LoadError(f"{where} nests deeper than the YAML parser can follow; no model "
                        "config does: the file is damaged or hostile") from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(f"{where} is not safe Keras YAML ({first}); only plain YAML and "
                        "!!python/tuple are read") from exc
    return bounded(value, where)


def bounded(value: Any, where: str) -> Any:
    """`value` itself, after checking (without recursion) that it nests <= MAX_DEPTH levels."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LoadError(f"{where} nests more than {MAX_DEPTH} levels deep; no model config "
                            "does: the file is damaged or hostile")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value
