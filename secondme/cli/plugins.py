"""``mem plugins``: which plugins are loaded, from where, and which hooks each implements."""

from __future__ import annotations

import typer

from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json


def plugins_(json_: JsonOpt = False) -> None:
    """List the plugins found (installed packages and plugin folders) and the hooks each implements.

    A plugin that failed to load or raised in a hook is shown as disabled, with the reason.
    """
    from secondme import plugins

    pm = plugins.manager()
    pm.quiet = True  # the listing says it; no second line on stderr
    try:
        found = plugins.check()
    finally:
        pm.quiet = False
    if json_:
        emit_json([info.to_dict() for info in found])
        return
    if not found:
        folders = ", ".join(str(d) for d in plugins.plugins_dirs())
        typer.echo(f"No plugins loaded (plugin folders: {folders}).")
        return
    for info in found:
        state = "active" if info.active else f"disabled: {info.error}"
        typer.echo(f"{info.name}  ({state})")
        typer.echo(f"  from:  {info.origin}")
        typer.echo(f"  hooks: {', '.join(info.hooks) or '-'}")


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command("plugins")(plugins_)
