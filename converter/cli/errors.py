"""How every command ends on an error: one "error:" line, its exit code, no traceback.

A user's error (ConverterError) exits with its stage's code; a bug in converter
(InternalError, or any exception converter did not expect) exits 70 naming the file:line of
converter's code that failed, so it is never mistaken for a problem with the model.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from converter.errors import ConverterError, InternalError
from converter.process.worker import exception_record


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
    except InternalError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # staged files were removed on the way out
        click.echo("error: interrupted; nothing was written under a final name", err=True)
        sys.exit(130)
    except click.ClickException:  # click's own usage errors keep click's handling
        raise
    except Exception as exc:  # noqa: BLE001 - anything else escaping is converter's bug
        record = exception_record(exc)
        bug = InternalError(str(record["reason"]), str(record["where"]))
        click.echo(f"error: {bug}", err=True)
        sys.exit(bug.exit_code)
