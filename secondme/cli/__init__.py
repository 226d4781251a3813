"""The ``mem`` command line.  Heavy modules are imported inside commands, never here."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from secondme import __version__
from secondme.errors import EXIT_ERROR, SecondmeError, StoreError

app = typer.Typer(
    name="mem",
    help="secondme: your second memory, kept on your own machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"secondme {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """secondme: your second memory, kept on your own machine."""


def _register() -> None:
    from secondme.cli import admin, daemon, ingest, memories, search, transfer, tui, watch
    from secondme.cli import eval as eval_

    memories.register(app)
    search.register(app)
    ingest.register(app)
    watch.register(app)
    transfer.register(app)
    admin.register(app)
    tui.register(app)
    eval_.register(app)
    daemon.register(app)


_register()


def fail(error: SecondmeError) -> None:
    """Print one line for a person and exit with the error's code."""
    message = f"error: {error.message}"
    if error.hint:
        message += f" ({error.hint})"
    if sys.stderr.isatty():
        message = f"\x1b[31m{message}\x1b[0m"
    print(message, file=sys.stderr)
    raise SystemExit(error.exit_code)


def main() -> None:
    """Run ``mem``; errors become one line on stderr (tracebacks with SECONDME_DEBUG=1)."""
    import sqlite3

    debug = bool(os.environ.get("SECONDME_DEBUG"))
    try:
        app(standalone_mode=True)
    except SecondmeError as error:
        if debug:
            raise
        fail(error)
    except sqlite3.Error as error:
        if debug:
            raise
        from secondme import paths
        from secondme.store.db import describe

        fail(describe(error, paths.db_path()))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except OSError as error:
        if debug:
            raise
        fail(StoreError(f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")))
    except Exception as error:  # the last line of defence: still one line, never a traceback
        if debug:
            raise
        print(
            f"error: {type(error).__name__}: {error} (run with SECONDME_DEBUG=1 for details)", file=sys.stderr
        )
        raise SystemExit(EXIT_ERROR) from None
