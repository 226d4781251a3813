"""Commands that write and read memories: add, list, show, edit, forget, core."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Annotated

import typer

from secondme.cli.core import open_core
from secondme.cli.options import MAX_INT, JsonOpt, SinceOpt, TypeOpt, UntilOpt
from secondme.cli.output import emit_json, memory_details, memory_line
from secondme.errors import InputError, NotFoundError, PartialError


def _read_text(text: str | None) -> str:
    if text is not None and text != "-":
        return text
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("no text given", hint="pass it as an argument or pipe it on stdin")
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read()
    # Bytes, decoded like an ingested file: invalid UTF-8 is read, and said, not a crash.
    from secondme.ingest.sources.base import decode_checked

    body, problem = decode_checked(stream.read())
    if problem is not None:
        typer.echo(f"warning: stdin: {problem.reason}", err=True)
    return body


def _types(values: list[str] | None):
    from secondme.memory import MemoryType

    return tuple(MemoryType.parse(v) for v in values or [])


def _when(value: str | None) -> str | None:
    from secondme import timeparse

    return timeparse.iso(timeparse.parse_when(value)) if value else None


def add(
    text: Annotated[
        str | None, typer.Argument(help="The memory's text ('-' or nothing: read stdin).")
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            "-t",
            help="core, episodic, semantic, resource or vault (default: guessed from the text).",
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When it happened (2024-03-02, 'yesterday', '3 days ago').")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where it came from (free text, kept as provenance).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Label of a core memory (e.g. name, city).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Remember something."""
    from secondme.classify import classify
    from secondme.memory import MemoryType, NewMemory

    body = _read_text(text)
    if not body.strip():
        raise InputError("memory text is empty", hint="give the text as an argument or on stdin")
    occurred = _when(at)
    if type_:
        kind = MemoryType.parse(type_)
    else:
        kind = classify(body, has_time=occurred is not None)
        if kind is MemoryType.VAULT:
            from secondme.secrets import find_secrets

            if not find_secrets(body):
                raise InputError(
                    "this looks like a secret, but no value was recognised in it, so nothing was stored",
                    hint="store the value with `mem vault add LABEL`, or choose a type with --type",
                )
            # The value goes to the vault; the sentence around it is an ordinary memory.
            kind = MemoryType.EPISODIC if occurred else MemoryType.SEMANTIC
    new = NewMemory(
        text=body,
        type=kind,
        occurred_at=occurred,
        tags=list(tag or []),
        source_kind="cli",
        source_ref=source,
        label=label,
    )
    (parts,) = open_core().add_parts([new])
    memory, created = parts[0]
    ids = [m.id for m, _ in parts]
    if json_:
        emit_json({"id": memory.id, "type": memory.type.value, "created": created, "ids": ids})
    else:
        verb = "Remembered" if created else "Already remembered"
        if len(parts) == 1:
            typer.echo(f"{verb} #{memory.id} ({memory.type.value})")
        else:
            # Too long for one memory: split, never cut (docs/errors.md, "Long texts").
            verb = "Remembered" if any(c for _, c in parts) else "Already remembered"
            shown = ", ".join(f"#{i}" for i in ids) if len(ids) <= 8 else f"#{ids[0]} … #{ids[-1]}"
            typer.echo(f"{verb} in {len(parts)} parts {shown} ({memory.type.value})")


def list_(
    type_: TypeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_INT, help="How many to show.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, max=MAX_INT, help="Skip this many.")] = 0,
    all_: Annotated[bool, typer.Option("--all", help="Include superseded memories.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List memories, newest first."""
    memories = open_core().list(
        types=_types(type_),
        since=_when(since),
        until=_when(until),
        include_superseded=all_,
        limit=limit,
        offset=offset,
    )
    if json_:
        emit_json([m.to_dict() for m in memories])
        return
    if not memories:
        typer.echo('No memories yet. Add one with: mem add "..."')
    for memory in memories:
        typer.echo(memory_line(memory))


def show(
    memory_id: Annotated[int, typer.Argument(min=1, max=MAX_INT, help="The memory's id.")],
    json_: JsonOpt = False,
) -> None:
    """Show one memory with its history."""
    core = open_core()
    memory = core.get(memory_id)
    history = core.history(memory_id)
    if json_:
        emit_json({**memory.to_dict(), "history": history})
    else:
        typer.echo(memory_details(memory, history))


def edit(
    memory_id: Annotated[int, typer.Argument(min=1, max=MAX_INT, help="The memory's id.")],
    text: Annotated[str | None, typer.Option("--text", help="The new text (default: open $EDITOR).")] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="Change the type.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Change when it happened.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Replace the tags (repeatable).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a memory; the previous version is kept in its history."""
    app = open_core()
    memory = app.get(memory_id)
    fields: dict[str, object] = {}
    if text is None and type_ is None and at is None and tag is None:
        text = _edit_in_editor(memory.text)
    if text is not None and text.strip() != memory.text:
        fields["text"] = text
    if type_ is not None:
        from secondme.memory import MemoryType

        fields["type"] = MemoryType.parse(type_)
    if at is not None:
        fields["occurred_at"] = _when(at)
    if tag is not None:
        fields["tags"] = list(tag)
    updated = app.edit(memory_id, **fields) if fields else memory
    if json_:
        emit_json(updated.to_dict())
    else:
        typer.echo(f"Updated #{updated.id}" if fields else f"No change to #{updated.id}")


def _edit_in_editor(current: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".md", delete=False, encoding="utf-8") as handle:
        handle.write(current)
        path = handle.name
    try:
        result = subprocess.run([*editor.split(), path], check=False)
        if result.returncode != 0:
            raise InputError(f"the editor {editor!r} exited with {result.returncode}; nothing changed")
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def forget(
    memory_ids: Annotated[
        list[int] | None, typer.Argument(min=1, max=MAX_INT, help="Ids of the memories to remove for good.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Every memory from this file (or folder).")
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Every memory holding these words (keyword match).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be forgotten; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm a forget by source, query or dates.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove memories for good: rows, history, earlier versions, full-text segments, WAL and vectors.

    Only a tombstone (id, time, reason) stays.  Select by ids, --source, --query or --since/--until.
    """
    ids = list(memory_ids or [])
    selectors = [x for x in (source, query, since or until) if x]
    if bool(ids) + len(selectors) != 1:
        raise InputError(
            "say what to forget in one way",
            hint="ids, or --source PATH, or --query WORDS, or --since/--until",
        )
    app = open_core()
    reason = "by id"
    if source:
        ids = app.ids_from_source(source)
        reason = "by source"
    elif query:
        ids = app.ids_matching(query)
        reason = "by query"
    elif since or until:
        ids = app.ids_between(_when(since), _when(until))
        reason = "by date range"
    if dry_run or (selectors and not yes):
        found = app.get_many(ids)
        shown = [found[i] for i in ids if i in found]
        if json_:
            emit_json({"would_forget": [m.id for m in shown], "dry_run": True})
        else:
            for memory in shown:
                typer.echo(memory_line(memory))
            typer.echo(f"{len(shown)} memories would be forgotten.")
        if not dry_run:
            raise InputError(
                f"add --yes to forget these {len(shown)} memories", hint="or --dry-run to only look"
            )
        return
    removed = app.forget(ids, reason=reason)
    if source:
        app.drop_sources(source)
    missing = [i for i in ids if i not in removed]
    if json_:
        emit_json({"forgotten": removed, "not_found": missing if memory_ids else []})
    elif removed:
        typer.echo(f"Forgot {', '.join(f'#{i}' for i in removed)}")
    elif selectors:
        typer.echo("Nothing matched; nothing was forgotten.")
    if memory_ids and missing:
        names = ", ".join(f"#{i}" for i in missing)
        hint = "`mem list` shows the ids"
        if removed:
            raise PartialError(f"no memory {names}; the others were forgotten", hint=hint)
        raise NotFoundError(f"no memory {names}", hint=hint)


core_app = typer.Typer(
    help="Core memories: who you are, always in the answer prompt.", invoke_without_command=True
)


@core_app.callback()
def core(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List core memories (or set one with `mem core set LABEL VALUE`)."""
    if ctx.invoked_subcommand:
        return
    memories = open_core().core()
    if json_:
        emit_json([m.to_dict() for m in memories])
        return
    if not memories:
        typer.echo('No core memories yet. Set one with: mem core set name "Ana"')
    for memory in memories:
        typer.echo(f"{memory.id:>6}  {memory.label or '-':<16} {memory.text}")


@core_app.command("set")
def core_set(
    label: Annotated[str, typer.Argument(help="What it is about, e.g. name, city, job.")],
    value: Annotated[str, typer.Argument(help="The value, e.g. 'My name is Rui'.")],
    json_: JsonOpt = False,
) -> None:
    """Set a core memory; an earlier value for the label is superseded, not lost."""
    memory = open_core().set_core(label, value)
    if json_:
        emit_json({"id": memory.id, "type": memory.type.value, "label": memory.label})
    else:
        typer.echo(f"Core {memory.label!r} is #{memory.id}")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("add")(add)
    app.command("list")(list_)
    app.command("show")(show)
    app.command("edit")(edit)
    app.command("forget")(forget)
    app.add_typer(core_app, name="core")
