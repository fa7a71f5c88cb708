"""How a command's report reaches people and CI: --report, --junit, --quiet, --json.

Shared by `convert`, `verify` and `batch`, so each offers the same four options and shows
its result the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

Command = Callable[..., None]


@dataclasses.dataclass(frozen=True)
class Shown:
    """The renderings asked for and how the terminal shows the result."""

    report_file: Path | None = None
    junit_file: Path | None = None
    quiet: bool = False
    as_json: bool = False

    def files(self) -> dict[str, Path | None]:
        """The renderings asked for, by the option that asked."""
        return {"--report": self.report_file, "--junit": self.junit_file}

    def check(self) -> None:
        """A usage error for a rendering file name with the wrong suffix."""
        from converter.report.render import format_of

        for option, path in self.files().items():
            if path is not None:
                format_of(path, option)


def rendering_options(command: Command) -> Command:
    """--report, --junit, --quiet and --json, handed to the command as one `shown` value."""
    @functools.wraps(command)
    def wrapped(*args: object, **flags: object) -> None:
        names = [f.name for f in dataclasses.fields(Shown)]
        shown = Shown(**{n: flags.pop(n) for n in names})  # type: ignore[arg-type]
        command(*args, shown=shown, **flags)

    for option in reversed((
        click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="Also write the report as HTML (.html) or Markdown (.md)."),
        click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="Also write JUnit XML (.xml): a testcase per check."),
        click.option("--quiet", "-q", is_flag=True,
                     help="No progress and no table: the verdict line and what was written."),
        click.option("--json", "as_json", is_flag=True, help="Print the JSON report to stdout."),
    )):
        wrapped = option(wrapped)
    return wrapped


def unwind_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C does: through every `finally`, with status 143."""
    def terminated(signum: int, frame: object) -> None:
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)


def show(document: Mapping[str, Any], shown: Shown, closing: list[str]) -> None:
    """The JSON document on stdout, or the summary table (the verdict alone when quiet)."""
    if shown.as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    from converter.report.documents import entries
    from converter.report.terminal import print_summary
    from converter.report.view import verdict

    if shown.quiet:
        for entry in entries(document):
            click.echo(f"{entry['name']}: {verdict(entry)}")
    else:
        print_summary(document)
    for line in closing:
        click.echo(line)
