"""`converter batch CONFIG.toml -o OUTDIR [-j N] [--shard i/n]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter.cli_errors import errors_as_exit_codes


@click.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              required=True, help="OUTDIR/<model>/ per model and OUTDIR/summary.json.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Models converted at once, each in its own process.")
@click.option("--shard", default=None, metavar="I/N",
              help="Convert only shard I of N (1-based) for CI matrix fan-out; merge the "
                   "shards' summary.json with `converter report merge`.")
@click.option("--no-cache", is_flag=True,
              help="Convert every model even when nothing it depends on changed.")
@click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write the summary as HTML (.html) or Markdown (.md).")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Also write JUnit XML (.xml): a testsuite per model.")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no table.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
def batch(config: Path, output_dir: Path, jobs: int, shard: str | None, no_cache: bool,
          report_file: Path | None, junit_file: Path | None, quiet: bool,
          as_json: bool) -> None:
    """Convert every model listed in CONFIG (TOML; see the README), skipping unchanged ones.

    Exit status: the worst of the models' exit codes.
    """
    from converter.batch import parse_shard, run_batch
    from converter.cli import Shown, show
    from converter.report.progress import listener_for
    from converter.report.render import format_of, write_renderings

    shown = Shown(report_file, junit_file, quiet, as_json)
    with errors_as_exit_codes():
        for option, path in shown.files().items():
            if path is not None:
                format_of(path, option)
        where = parse_shard(shard) if shard else None
        with listener_for(quiet, as_json) as listener:
            document = run_batch(config, output_dir, jobs, where, not no_cache, listener)
        written = write_renderings(document, shown.files())
    show(document, shown, [f"summary {output_dir / 'summary.json'}",
                           *(f"rendered {p}" for p in written)])
    sys.exit(document["exit_code"])
