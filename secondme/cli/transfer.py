"""Moving memories in and out: export (JSON Lines, Markdown, plugins' formats) and import."""

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


# What each field must hold; every other known field is text.
_NUMBERS = {"importance"}
_LISTS = {"tags"}
_OBJECTS = {"metadata"}


def _check_type(key: str, value: Any) -> None:
    """Refuse a field of the wrong JSON type with a message naming it (not a crash later)."""
    if key in _NUMBERS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        wanted = "a number"
    elif key in _LISTS:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        wanted = "a list of strings"
    elif key in _OBJECTS:
        ok = isinstance(value, dict)
        wanted = "an object"
    else:
        ok = isinstance(value, str)
        wanted = "a string"
    if not ok:
        raise ValueError(f"{key} must be {wanted}, not {json.dumps(value)[:40]}")


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
            for key, value in values.items():
                _check_type(key, value)
            if "text" not in values:
                raise ValueError('no "text" field')
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
        typer.Argument(
            help="A `mem export` file, or a JSON Lines file of memories (text, type, occurred_at, tags, ...)."
        ),
    ],
    merge: Annotated[
        bool,
        typer.Option(
            "--merge", help="Add an export's memories to a home that has some already (new ids, no doubles)."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Restore a `mem export` file, or add memories from a JSON Lines file.

    An export is restored whole (history, validity, provenance, tombstones) into an empty home,
    or with --merge into one that has memories; a damaged or cut-short file imports nothing.
    A plain JSON Lines file adds its memories (unchanged ones are skipped, so it can run again).
    """
    from secondme.memory import MemoryType
    from secondme.transfer import is_export

    if not file.is_file():
        raise InputError(f"no such file: {file}")
    if is_export(file):
        report = open_core(local=True).restore(file, merge=merge)
        if json_:
            emit_json(report.to_dict())
        else:
            typer.echo(f"Imported {file}: {report.describe()}")
        return
    items = parse_jsonl(file)
    app = open_core(local=True)
    added = unchanged = 0
    plain = []
    for new in items:
        if new.type is MemoryType.CORE and new.label:
            before = app.max_id()
            memory = app.set_core(new.label, new.text)
            added += memory.id > before
            unchanged += memory.id <= before
        else:
            plain.append(new)
    for parts in app.add_parts(plain):  # a long text is stored in parts, each counted
        for _, created in parts:
            added += created
            unchanged += not created
    app.sync_vectors()
    if json_:
        emit_json({"added": added, "unchanged": unchanged})
    else:
        typer.echo(f"Imported {file}: {added} added, {unchanged} already known.")


def export(
    path: Annotated[
        Path | None,
        typer.Argument(help="Where to write: a file (jsonl), a new folder (markdown); none: stdout (jsonl)."),
    ] = None,
    format_: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="jsonl (lossless, for `mem import`), markdown, or a plugin's format."
        ),
    ] = "jsonl",
    include_vault: Annotated[
        bool, typer.Option("--include-vault", help="Also export vault memories (exactly as stored).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The same as PATH (kept for older scripts).")
    ] = None,
) -> None:
    """Write everything: every memory, its edit history, validity, provenance and the tombstones."""
    import tempfile

    target = path or output
    app = open_core(local=True)
    if target is not None:
        app.export(target, format=format_, include_vault=include_vault)
        typer.echo(f"Exported to {target}.")
        return
    if format_ != "jsonl":
        raise InputError(f"the {format_} export needs a PATH", hint="only jsonl can go to stdout")
    with tempfile.TemporaryDirectory() as scratch:
        temp = Path(scratch) / "export.jsonl"
        app.export(temp, format="jsonl", include_vault=include_vault)
        with open(temp, encoding="utf-8") as handle:
            for line in handle:
                sys.stdout.write(line)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("import")(import_)
    app.command("export")(export)
