"""Moving memories in and out as JSON Lines: import, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from secondme.cli.core import open_core
from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError

_FIELDS = {
    "text",
    "type",
    "occurred_at",
    "valid_from",
    "valid_to",
    "tags",
    "importance",
    "metadata",
    "actor",
    "event",
    "subject",
    "title",
    "resource_kind",
    "path",
    "label",
    "source_kind",
    "source_ref",
}


def parse_jsonl(path: Path) -> list[Any]:
    """Read memories from a JSON Lines file; every bad line is an error naming the line."""
    from secondme import timeparse
    from secondme.memory import NewMemory

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    items: list[NewMemory] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            unknown = (
                set(data)
                - _FIELDS
                - {
                    "id",
                    "recorded_at",
                    "updated_at",
                    "superseded_by",
                    "access_count",
                    "last_accessed_at",
                    "content_hash",
                    "source_status",
                }
            )
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)}")
            values = {k: v for k, v in data.items() if k in _FIELDS and v is not None}
            for key in ("occurred_at", "valid_from", "valid_to"):
                if key in values:
                    values[key] = timeparse.iso(timeparse.parse_when(str(values[key])))
            new = NewMemory(**values)
            new.source_kind = values.get("source_kind", "import")
            new.source_ref = values.get("source_ref", f"{path.name}:{number}")
            new.validate()
        except (ValueError, TypeError, InputError) as exc:
            raise InputError(f"{path}, line {number}: {exc}", hint="nothing was imported") from None
        items.append(new)
    return items


def import_(
    file: Annotated[
        Path,
        typer.Argument(help="A JSON Lines file: one memory per line (text, type, occurred_at, tags, ...)."),
    ],
    json_: JsonOpt = False,
) -> None:
    """Add memories from a JSON Lines file (unchanged ones are skipped, so it can run again)."""
    from secondme.memory import MemoryType

    items = parse_jsonl(file)
    app = open_core(local=True)
    added = unchanged = 0
    plain = []
    for new in items:
        if new.type is MemoryType.CORE and new.label:
            before = app.store.max_id()
            memory = app.store.set_core(new.label, new.text)
            added += memory.id > before
            unchanged += memory.id <= before
        else:
            plain.append(new)
    for _, created in app.add_many(plain):
        added += created
        unchanged += not created
    app.sync_vectors()
    if json_:
        emit_json({"added": added, "unchanged": unchanged})
    else:
        typer.echo(f"Imported {file}: {added} added, {unchanged} already known.")


def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Write every memory (superseded ones included) as JSON Lines."""
    from secondme.store.memories import Filters

    store = open_core(local=True).store
    handle = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        offset = 0
        while True:
            batch = store.listing(
                Filters(include_superseded=True, include_vault=True),
                limit=1000,
                offset=offset,
                newest_first=False,
            )
            if not batch:
                break
            for memory in batch:
                handle.write(json.dumps(memory.to_dict(), ensure_ascii=False) + "\n")
            offset += len(batch)
    finally:
        if output:
            handle.close()


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("import")(import_)
    app.command("export")(export)
