"""`converter report render|diff|merge`: work on report files without converting anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from converter.cli.errors import errors_as_exit_codes
from converter.errors import EXIT_OK, EXIT_PARITY_FAILED
from converter.process.staging import write_atomically
from converter.report.documents import merge as merge_documents
from converter.report.documents import read_document

REPORT_FILE = click.Path(path_type=Path, dir_okay=False)


@click.group()
def report() -> None:
    """Render, compare and merge report.json / summary.json files."""


@report.command()
@click.argument("document", type=REPORT_FILE)
@click.option("--format", "form", type=click.Choice(["html", "md", "junit"]), required=True,
              help="The rendering.")
@click.option("-o", "--output", type=REPORT_FILE, default=None,
              help="Write it here [default: stdout].")
def render(document: Path, form: str, output: Path | None) -> None:
    """Render DOCUMENT (a report.json or batch summary.json) as HTML, Markdown or JUnit XML."""
    from converter.report.render import render as render_document

    with errors_as_exit_codes():
        text = render_document(read_document(document), form)
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomically(output, text)
            click.echo(f"rendered {output}")


@report.command()
@click.argument("old", type=REPORT_FILE)
@click.argument("new", type=REPORT_FILE)
@click.option("--json", "as_json", is_flag=True, help="The changes as JSON.")
def diff(old: Path, new: Path, as_json: bool) -> None:
    """What changed from OLD (the last release) to NEW; exit 1 when parity regressed.

    Regressions: a check or model that passed and does not now, an artifact no longer
    produced. Sizes, op counts, newly skipped runtimes and error growth are listed too.
    """
    from dataclasses import asdict

    from converter.report.diff import diff as diff_documents
    from converter.report.diff import render_diff

    with errors_as_exit_codes():
        changes = diff_documents(read_document(old), read_document(new))
    if as_json:
        click.echo(json.dumps([asdict(c) for c in changes], indent=2))
    else:
        click.echo(render_diff(changes), nl=False)
    regressed = any(c.kind == "regression" for c in changes)
    sys.exit(EXIT_PARITY_FAILED if regressed else EXIT_OK)


@report.command()
@click.argument("documents", nargs=-1, required=True, type=REPORT_FILE)
@click.option("-o", "--output", type=REPORT_FILE, required=True, help="The merged summary.")
def merge(documents: tuple[Path, ...], output: Path) -> None:
    """Merge reports or batch summaries (e.g. of --shard 1/n ... n/n) into one summary.

    Exit status: the worst of the merged models' exit codes.
    """
    with errors_as_exit_codes():
        merged = merge_documents([read_document(path) for path in documents])
        write_atomically(output, json.dumps(merged, indent=2, sort_keys=True) + "\n")
    click.echo(f"merged {len(merged['models'])} model(s) into {output}")
    sys.exit(merged["exit_code"])
