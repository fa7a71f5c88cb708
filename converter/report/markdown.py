"""The Markdown rendering of a report or batch summary (for release notes and PR comments)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converter.report.documents import entries
from converter.report.view import ModelView, Table, model_view


def render_markdown(document: Mapping[str, Any]) -> str:
    """The whole document: an overview when there are several models, then each model."""
    models = [model_view(entry) for entry in entries(document)]
    title = "PASSED" if document["passed"] else f"NOT PASSED (exit {document['exit_code']})"
    parts = [f"# Parity report: {title}\n"]
    if len(models) > 1:
        overview = Table("Models", ("model", "exit", "verdict"), tuple(
            (m.name, str(m.exit_code), m.verdict) for m in models))
        parts.append(table(overview))
    for model in models:
        parts.append(section(model, heading="##" if len(models) > 1 else ""))
    return "\n".join(parts)


def section(model: ModelView, heading: str) -> str:
    """One model: its verdict, then its tables."""
    lines = [f"{heading} {model.name}\n" if heading else "", f"**{model.verdict}**\n"]
    lines += [table(t) for t in model.tables if t.rows]
    return "\n".join(line for line in lines if line)


def table(data: Table) -> str:
    """A GitHub-flavoured table under a bold title; '|' in cells escaped."""
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    lines = [f"**{data.title}**\n", row(data.headers), row(tuple("---" for _ in data.headers))]
    lines += [row(r) for r in data.rows]
    return "\n".join(lines) + "\n"


__all__ = ["render_markdown"]
