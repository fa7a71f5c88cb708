"""`converter batch CONFIG.toml -o OUTDIR [-j N] [--shard i/n|auto]`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from converter.cli.errors import errors_as_exit_codes
from converter.cli.output import Shown, rendering_options, show, unwind_on_sigterm
from converter.errors import UsageError


@click.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              required=True, help="OUTDIR/<model>/ per model and OUTDIR/summary.json.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Models converted at once, each in its own process.")
@click.option("--shard", default=None, metavar="I/N|auto",
              help="Convert only shard I of N (1-based) for CI matrix fan-out, or `auto`: "
                   "the index and count a CI engine sets (GitLab parallel, Kubernetes "
                   "Indexed Job); merge the shards' summary.json with `converter report "
                   "merge`.")
@click.option("--shard-count", type=int, default=None, metavar="N",
              help="With --shard auto in a Kubernetes Indexed Job: the Job's completions "
                   "[default: $CONVERTER_SHARD_COUNT].")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="Where conversions run: -j local processes, or one Ray task each "
                   "(pip install 'converter[ray]').")
@click.option("--address", default=None, metavar="ADDR",
              help="With --executor ray: the cluster to join [default: start a local one].")
@click.option("--no-cache", is_flag=True,
              help="Convert every model even when nothing it depends on changed.")
@rendering_options
def batch(config: Path, output_dir: Path, jobs: int, shard: str | None,
          shard_count: int | None, executor: str, address: str | None, no_cache: bool,
          shown: Shown) -> None:
    """Convert every model listed in CONFIG (TOML; see the README), skipping unchanged ones.

    Exit status: the worst of the models' exit codes.
    """
    from converter.batch import parse_shard, run_batch
    from converter.report.progress import listener_for
    from converter.report.render import write_renderings

    with errors_as_exit_codes():
        shown.check()
        where = parse_shard(shard, os.environ, shard_count) if shard else None
        if address and executor != "ray":
            raise UsageError("--address joins a Ray cluster: give it with --executor ray")
        if executor == "ray":
            from converter.batch.ray_executor import ray_module

            ray_module()  # missing Ray: exit 2 with the install line, before any work
        unwind_on_sigterm()
        with listener_for(shown.quiet, shown.as_json) as listener:
            document = run_batch(config, output_dir, jobs, where, not no_cache, listener,
                                 executor, address)
        written = write_renderings(document, shown.files())
    show(document, shown, [f"summary {output_dir / 'summary.json'}",
                           *(f"rendered {p}" for p in written)])
    sys.exit(document["exit_code"])
