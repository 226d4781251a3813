"""`mem watch`: keep folders ingested, in the foreground or in the background."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from secondme.cli.core import daemon_client, open_core
from secondme.cli.ingest import KindOpt, check_kind
from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError

ACTIONS = ("start", "stop", "status", "pause", "resume")


def watch(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="Folders to watch (default: [[watch]] in config.toml), or an action: "
            "start [FOLDERS] (in the background), stop, status, pause, resume."
        ),
    ] = None,
    kind: KindOpt = "auto",
    json_: JsonOpt = False,
) -> None:
    """Watch folders and ingest what changes (Ctrl-C stops; `mem watch start` runs it in the background)."""
    from secondme.ingest import watcher

    check_kind(kind)
    words = list(args or [])
    action = words.pop(0) if words and words[0] in ACTIONS else None
    if action in ("stop", "status", "pause", "resume") and words:
        raise InputError(f"`mem watch {action}` takes no folders")
    folders = [Path(w) for w in words]
    for folder in folders:
        if not folder.expanduser().is_dir():
            raise InputError(f"cannot watch {folder}: not a folder")
    if action is None:
        app = open_core(local=True)
        resolved = watcher.folders_from(app, folders, kind)
        if os.environ.get("SECONDME_WATCH_LOG"):
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        watcher.run_foreground(app, resolved, announce=lambda line: typer.echo(line, err=True))
        return
    if action == "start":
        resolved = watcher.folders_from(open_core(local=True), folders, kind)  # fail now, not later
        client = daemon_client()
        if client is not None:  # the daemon hosts the watcher
            result = client.watch_start([(f.expanduser().resolve(), k) for f, k in resolved])
        else:
            extra = [str(f.expanduser().resolve()) for f in folders] + ["--kind", kind]
            result = {"started": True, "pid": watcher.start_daemon(extra), "log": str(watcher.log_path())}
    elif action == "stop":
        client = daemon_client()
        if client is not None and client.hello.get("watching"):
            result = client.watch_stop()
        else:
            stopped = watcher.stop_daemon()
            result = {"stopped": stopped is not None, "pid": stopped}
    elif action in ("pause", "resume"):
        open_core(local=True).set_meta(watcher.PAUSED_KEY, "1" if action == "pause" else "0")
        result = {"paused": action == "pause"}
    else:
        result = watcher.daemon_status()
    if json_:
        emit_json(result)
    elif action == "start":
        typer.echo(f"Watcher started (pid {result['pid']}); log: {result['log']}")
    elif action == "stop":
        typer.echo(
            f"Watcher stopped (pid {result['pid']})" if result["stopped"] else "No watcher was running."
        )
    elif action in ("pause", "resume"):
        typer.echo(
            "Watcher paused: changes are queued, not ingested." if result["paused"] else "Watcher resumed."
        )
    else:
        state = "running (pid {pid})".format(**result) if result["running"] else "not running"
        typer.echo(f"watcher: {state}{', paused' if result['paused'] else ''}; log: {result['log']}")


def register(app: typer.Typer) -> None:
    """Add this command to ``app``."""
    app.command("watch")(watch)
