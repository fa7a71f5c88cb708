"""The closing summary table on the terminal, rendered from the report dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

STYLE = {"passed": "green", "failed": "red", "crashed": "red", "timeout": "red",
         "skipped": "yellow", "inconclusive": "yellow", "disputed": "yellow"}


def number(value: Any) -> str:
    """A compact figure for the table."""
    return "-" if value is None else (f"{value:.2e}" if isinstance(value, float) else str(value))


def summary_table(report: Mapping[str, Any]) -> Table:
    """One row per runtime x artifact with its verdict and error figures.

    The caption is what the verdict alone does not say (`view.qualifiers`): whether the
    mobile GPU path was checked, a stochastic source, disputed reference evaluators.
    """
    from converter.report.view import qualifiers

    verdict = "[green]PASSED[/]" if report["passed"] else "[red]NOT PASSED[/]"
    table = Table(title=f"parity of {report['source']['path']}: {verdict}",
                  caption="; ".join(qualifiers(report)), caption_justify="left")
    for column in ("runtime", "artifact", "status", "max abs", "max rel"):
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold")
    for check in report["parity"]:
        table.add_row(
            check["runtime"], check["artifact"].rsplit("/", 1)[-1],
            f"[{STYLE.get(check['status'], 'white')}]{check['status']}[/]",
            number(check.get("max_abs")), number(check.get("max_rel")),
            "; ".join(part for part in (check.get("reason", ""), caught(check)) if part),
        )
    return table


def caught(check: Mapping[str, Any]) -> str:
    """The planted defects a check caught, when any were planted."""
    found = check.get("power")
    if not found:
        return ""
    if not found["planted"]:
        return f"power {found.get('note', 'not measured')}"
    return f"caught {found['caught']}/{found['planted']} planted defects"


def batch_table(document: Mapping[str, Any]) -> Table:
    """One row per model of a batch: exit code, whether it was cached, time, verdict."""
    from converter.report.view import verdict

    headline = "[green]PASSED[/]" if document["passed"] else \
        f"[red]NOT PASSED (exit {document['exit_code']})[/]"
    table = Table(title=f"batch of {len(document['models'])} model(s): {headline}")
    for column in ("model", "exit", "cached", "seconds"):
        table.add_column(column, no_wrap=True)
    table.add_column("verdict", no_wrap=True, overflow="ellipsis", min_width=24)
    for entry in document["models"]:
        colour = "green" if entry["passed"] else "red"
        table.add_row(entry["name"], f"[{colour}]{entry['exit_code']}[/]",
                      "yes" if entry.get("cached") else "no", f"{entry.get('seconds', 0):.1f}",
                      verdict(entry))
    return table


def print_summary(document: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the parity table of a report, or the models table of a batch summary."""
    console = console or Console()
    console.print(batch_table(document) if "models" in document else summary_table(document))


def print_inspection(found: Any, console: Console | None = None) -> None:
    """The `inspect` summary: source facts, layer table, pass changes, problems."""
    console = console or Console()
    source = found.source
    console.print(f"[bold]{source['path']}[/]: {source['format']}, "
                  f"Keras {source['keras_version']}, "
                  f"backend {source['backend']} ({source['backend_decided_by']}); "
                  f"parity reference: {found.reference}")
    table = Table(title="layers")
    for column in ("name", "class", "calls", "weights"):
        table.add_column(column, overflow="fold")
    for row in found.layers:
        table.add_row(row["name"], row["class_name"], str(row["calls"]),
                      " ".join("x".join(map(str, w)) for w in row["weights"]))
    console.print(table)
    for record in found.passes:
        if record.get("error"):
            console.print(f"[red]normalisation fails[/]: {record['error']}")
        for change in record.get("changes", []):
            console.print(f"  {record['name']}: {change}")
    for row in found.expansions:
        console.print(f"expansion {row['class_name']} ({row['library']}) from {row['source']}")
    for call in found.training_mode:
        console.print(f"[yellow]training mode[/] {call['layer']} ({call['class_name']}) is "
                      f"called with training=True: it {call['effect']} at inference; "
                      "converter exports its inference form")
    for problem in found.unsupported:
        console.print(f"[red]unsupported[/] {problem['layer']} ({problem['class_name']}): "
                      f"{problem['remedy']}")
    if found.convertible:
        console.print("[green]nothing stands in the way of a conversion[/]")
