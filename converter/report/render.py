"""Pick a rendering by name or file suffix and write it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from converter.errors import UsageError
from converter.process.staging import write_atomically
from converter.report.html import render_html
from converter.report.junit import render_junit
from converter.report.markdown import render_markdown

RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "html": render_html, "md": render_markdown, "junit": render_junit,
}
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".xml": "junit"}


def format_of(path: Path, option: str) -> str:
    """The rendering a file name asks for; a usage error naming the suffixes otherwise."""
    found = SUFFIXES.get(Path(path).suffix.lower())
    if found is None or (option == "--junit") != (found == "junit"):
        wanted = ".xml" if option == "--junit" else ".html or .md"
        raise UsageError(f"{option} {path}: the file name must end in {wanted}")
    return found


def render(document: Mapping[str, Any], form: str) -> str:
    """The document rendered as html, md or junit."""
    return RENDERERS[form](document)


def write_renderings(document: Mapping[str, Any], paths: Mapping[str, Path | None]) -> list[Path]:
    """Write each requested rendering ({"--report": path, "--junit": path}); the paths written."""
    written = []
    for option, path in paths.items():
        if path is not None:
            write_atomically(Path(path), render(document, format_of(Path(path), option)))
            written.append(Path(path))
    return written
