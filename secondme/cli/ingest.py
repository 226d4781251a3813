"""Commands that bring files in: ingest, status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from secondme.cli.core import open_core
from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError

# How many recent problems `mem status` lists.
STATUS_ERRORS = 20

KindOpt = Annotated[
    str, typer.Option("--kind", help="auto (detect from content), notes, chats or screenshots.")
]


def check_kind(kind: str) -> str:
    """Refuse an unknown source kind with the list of valid ones."""
    from secondme.ingest.pipeline import KINDS

    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    return kind


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (folders are read recursively).")],
    kind: KindOpt = "auto",
    json_: JsonOpt = False,
) -> None:
    """Ingest notes, chat exports and screenshots; unchanged files are skipped, changed ones updated.

    Files that were ingested from a given folder and are no longer there are handled like
    deletions (see ingest.on_delete).
    """
    from secondme.ingest.pipeline import Ingestor

    check_kind(kind)
    missing = [str(p) for p in paths if not p.expanduser().exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
    app = open_core(local=True)
    ingestor = Ingestor(app)
    if json_ or not sys.stderr.isatty():
        summary = ingestor.ingest_paths(paths, kind)
    else:
        summary = _with_progress(ingestor, paths, kind)
    if json_:
        emit_json(summary.to_dict())
    else:
        typer.echo(
            f"{summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
            f"{summary.moved} moved, {summary.removed} removed, {summary.skipped} skipped, "
            f"{len(summary.errors)} not taken, {len(summary.warnings)} warnings "
            f"({summary.memories_added} new memories)"
        )
        for entry in summary.warnings:
            typer.echo(f"warning: {entry['path']}: {entry['reason']}", err=True)
        for entry in summary.errors:
            typer.echo(f"not taken: {entry['path']}: {entry['reason']}", err=True)
    check_outcome(summary)


def check_outcome(summary: Any) -> None:
    """Raise the error that ends an ingest with files not taken: partial or total (docs/errors.md)."""
    from secondme.errors import PartialError, SecondmeError

    failed = len(summary.errors)
    if not failed:
        return
    hint = "each file is listed above, and in `mem status`"
    if summary.taken:
        raise PartialError(f"{failed} of {failed + summary.taken} files were not taken", hint=hint)
    if failed == 1:
        only = summary.errors[0]
        raise SecondmeError(f"{only['path']} was not taken: {only['reason']}", hint=hint)
    raise SecondmeError(f"none of the {failed} files was taken", hint=hint)


def _with_progress(ingestor: Any, paths: list[Path], kind: str) -> Any:
    """Ingest with a progress bar on the terminal: files first, then the vectors."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = sum(1 for _ in ingestor.walk(paths))  # links and unlistable folders are told later
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[name]}"),
        transient=True,
    ) as bar:
        files = bar.add_task("ingesting", total=total, name="")
        vectors = bar.add_task("indexing", total=None, name="", visible=False)

        def on_vectors(written: int) -> None:
            # The total is not known cheaply: the bar counts vectors written so far.
            bar.update(vectors, visible=True, advance=written)

        return ingestor.ingest_paths(
            paths,
            kind,
            progress=lambda f, _o: bar.update(files, advance=1, name=f.name[:40]),
            on_vectors=on_vectors,
        )


def status(json_: JsonOpt = False) -> None:
    """Show memories, watched folders, the ingest queue, the last ingest and recorded errors."""
    from secondme.ingest import watcher

    counts = open_core().status()
    info = {
        "home": counts["home"],
        "memories": counts["memories"],
        "sources": counts["sources"],
        "last_ingest": counts["last_ingest"],
        "queue": counts["queue"],
        "watcher": watcher.daemon_status(),
        "watched": counts["watched"],
        "error_count": counts["error_count"],
        "errors": counts["errors"][:STATUS_ERRORS],
        "pending_vectors": counts["pending_vectors"],
    }
    if json_:
        emit_json(info)
        return
    counts = ", ".join(f"{n} {t}" for t, n in info["memories"].items())
    typer.echo(f"home:        {info['home']}")
    typer.echo(f"memories:    {counts}")
    files = ", ".join(f"{n} {s}" for s, n in info["sources"].items()) or "none"
    typer.echo(f"files:       {files}")
    typer.echo(f"last ingest: {info['last_ingest'] or 'never'}")
    state = info["watcher"]
    running = f"running (pid {state['pid']})" if state["running"] else "not running"
    if state.get("paused"):
        running += ", paused"
    typer.echo(f"watcher:     {running}; queue {info['queue']}")
    for folder in state.get("folders") or info["watched"]:
        typer.echo(f"  watching {folder['path']} ({folder['kind']})")
    if not state.get("folders") and not info["watched"]:
        typer.echo("  no [[watch]] folders in config.toml")
    if info["errors"]:
        typer.echo("recent problems:")
        for error in info["errors"]:
            typer.echo(f"  {error['at']}  {error['path']}: {error['reason']}")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("ingest")(ingest)
    app.command("status")(status)
