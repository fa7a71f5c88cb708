"""How every command ends on a user's error: one "error:" line, its exit code, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from converter.errors import ConverterError


@contextmanager
def errors_as_exit_codes() -> Iterator[None]:
    """Turn a ConverterError raised inside the block into its message and exit code.

    Ctrl-C becomes status 130 with one line, as shells expect, instead of a traceback.
    """
    try:
        yield
    except ConverterError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # staged files were removed on the way out
        click.echo("error: interrupted; nothing was written under a final name", err=True)
        sys.exit(130)
