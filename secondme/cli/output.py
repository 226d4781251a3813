"""Printing results: JSON for programs, short readable lines for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from secondme.memory import Memory
from secondme.textsplit import snippet


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def memory_line(memory: Memory, width: int = 72) -> str:
    """``id  date  type  text`` for listings."""
    when = (memory.occurred_at or memory.recorded_at or "")[:10]
    flag = "" if memory.superseded_by is None else f" (superseded by {memory.superseded_by})"
    return f"{memory.id:>6}  {when:<10}  {memory.type.value:<9} {snippet(memory.text, width)}{flag}"


def memory_details(memory: Memory, history: list[dict[str, Any]] | None = None) -> str:
    """Every field of a memory, for ``mem show``."""
    lines = [f"id:          {memory.id}", f"type:        {memory.type.value}"]
    fields = [
        ("label", memory.label),
        ("title", memory.title),
        ("subject", memory.subject),
        ("actor", memory.actor),
        ("event", memory.event),
        ("occurred at", memory.occurred_at),
        ("recorded at", memory.recorded_at),
        ("updated at", memory.updated_at),
        ("valid from", memory.valid_from),
        ("valid to", memory.valid_to),
        ("superseded by", memory.superseded_by),
        ("source", memory.source_kind),
        ("source ref", memory.source_ref),
        ("path", memory.path),
        ("tags", ", ".join(memory.tags) if memory.tags else None),
        ("importance", memory.importance),
        ("accessed", f"{memory.access_count} times"),
    ]
    for name, value in fields:
        if value not in (None, ""):
            lines.append(f"{name + ':':<13}{value}")
    lines.append("")
    lines.append(memory.text)
    if history:
        lines.append("")
        lines.append(f"history ({len(history)} earlier versions):")
        for entry in history:
            lines.append(
                f"  v{entry['version']} {entry['changed_at']} {entry['change']}: "
                f"{snippet(entry['snapshot'].get('text', ''), 60)}"
            )
    return "\n".join(lines)
