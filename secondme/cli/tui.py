"""``mem tui``: the Textual app (Textual is imported only when the command runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from secondme.errors import InputError


def tui(
    theme: Annotated[
        str,
        typer.Option(
            "--theme",
            help="auto (follow the terminal's light or dark background), dark, light, or ansi "
            "(the terminal's own colours).",
        ),
    ] = "auto",
) -> None:
    """Browse, search, edit and ask your memories in a full-screen app."""
    from secondme.tui.theme import CHOICES

    if theme not in CHOICES:
        raise InputError(f"unknown theme {theme!r}", hint=f"use one of: {', '.join(CHOICES)}")
    from secondme.tui.app import make_app

    make_app(theme=theme).run()


def register(app: typer.Typer) -> None:
    """Add ``mem tui`` to ``app``."""
    app.command("tui")(tui)
