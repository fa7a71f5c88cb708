"""`--custom-objects module:attr`: layer classes the user vouches for, imported explicitly.

This is the one place converter imports code a user names: the user's own module, never
anything a model file points at. The class is then found by its name in model configs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from converter.errors import UsageError


def resolve_custom_objects(specs: Sequence[str]) -> dict[str, Any]:
    """{class name: object} for each "module:attr" spec (the current directory importable)."""
    objects: dict[str, Any] = {}
    if specs and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        if not module_name or not attr:
            raise UsageError(f"--custom-objects takes module:attr (e.g. mylayers:Scale); "
                             f"received {spec!r}")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(
                f"--custom-objects {spec}: cannot import {module_name} ({exc})") from exc
        if not hasattr(module, attr):
            raise UsageError(f"--custom-objects {spec}: module {module_name} has no {attr}")
        value = getattr(module, attr)
        objects[getattr(value, "__name__", attr)] = value
    return objects
