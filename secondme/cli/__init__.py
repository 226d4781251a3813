"""The ``mem`` command line.  Heavy modules are imported inside commands, never here."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from secondme import __version__
from secondme.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, InputError, SecondmeError, StoreError

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
    from secondme.cli import admin, daemon, ingest, memories, search, transfer, tui, vault, watch
    from secondme.cli import eval as eval_
    from secondme.cli import mcp as mcp_
    from secondme.cli import plugins as plugins_

    memories.register(app)
    search.register(app)
    ingest.register(app)
    watch.register(app)
    transfer.register(app)
    admin.register(app)
    tui.register(app)
    vault.register(app)
    eval_.register(app)
    mcp_.register(app)
    plugins_.register(app)
    daemon.register(app)


_register()


def fail(error: SecondmeError, command: str = "") -> None:
    """Print one line for a person and exit with the error's code.

    An error raised without a hint gets the command's help as one, so every line has a hint.
    """
    message = f"error: {one_line(error.message)}"
    hint = error.hint or f"see `{' '.join(['mem', *command.split()])} --help`"
    message += f" ({one_line(hint)})"
    if sys.stderr.isatty():
        message = f"\x1b[31m{message}\x1b[0m"
    print(message, file=sys.stderr)
    raise SystemExit(error.exit_code)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def usage_error(error: Exception) -> SecondmeError:
    """Click's own usage errors (bad option values, missing arguments) as one line with a hint."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "mem"
    format_message = getattr(error, "format_message", None)
    message = format_message() if callable(format_message) else str(error)
    message = one_line(message).rstrip(".")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return InputError(message, hint=f"see `{command} --help`")


def main(args: list[str] | None = None) -> None:
    """Run ``mem``; errors become one line on stderr (tracebacks with SECONDME_DEBUG=1).

    Every exit code is one of :data:`secondme.errors.EXIT_CODES` (see docs/errors.md).
    """
    import sqlite3

    # Typer carries its own copy of Click; its exceptions are the ones raised here.
    from typer._click import exceptions as click

    debug = bool(os.environ.get("SECONDME_DEBUG"))
    argv = sys.argv[1:] if args is None else args
    # The command's words ("core set"), for the default hint; option values may follow.
    command = " ".join(word for word in argv[:2] if not word.startswith("-"))
    if command.split()[:1] and command.split()[0] not in {"core", "config", "eval", "watch"}:
        command = command.split()[0]
    try:
        from secondme.plugins import add_commands, command_names

        # Plugins load here, when mem runs, never when it is imported; a built-in command needs
        # no plugin commands (they cannot take its name), so it skips the entry point scan.
        words = [a for a in argv if not a.startswith("-")]
        if not words or words[0] not in command_names(app):
            add_commands(app)
        # Not standalone: Click's usage errors come here instead of printing a usage box.
        result = app(args=args, prog_name="mem", standalone_mode=False)
    except click.NoArgsIsHelpError as error:
        # `mem` or `mem config` alone: the help is the answer, not an error.
        assert error.ctx is not None
        typer.echo(error.ctx.get_help())
        raise SystemExit(EXIT_OK) from None
    except click.UsageError as error:
        if debug:
            raise
        fail(usage_error(error))
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except click.ClickException as error:
        if debug:
            raise
        fail(SecondmeError(error.format_message(), hint="see `mem --help`"))
    except SecondmeError as error:
        if debug:
            raise
        fail(error, command)
    except sqlite3.Error as error:
        if debug:
            raise
        from secondme import paths
        from secondme.store.db import describe

        fail(describe(error, paths.db_path()))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except OSError as error:
        if debug:
            raise
        where = f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
        fail(StoreError(where, hint="check that the path exists and that you may read and write it"))
    except Exception as error:  # the last line of defence: still one line, never a traceback
        if debug:
            raise
        print(
            f"error: {type(error).__name__}: {one_line(str(error))} (run with SECONDME_DEBUG=1 for details)",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_ERROR) from None
    # Not standalone, `raise typer.Exit(n)` comes back as the return value n.
    raise SystemExit(result if isinstance(result, int) else EXIT_OK)
