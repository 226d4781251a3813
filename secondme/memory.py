"""Memory types and the memory record.

A memory is one piece of text with its type, where it came from, when it happened and how long it
holds.  The store turns :class:`NewMemory` drafts into :class:`Memory` rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from secondme.errors import InputError


class MemoryType(StrEnum):
    """The five kinds of memory."""

    CORE = "core"
    """Who the user is; pinned into every prompt."""
    EPISODIC = "episodic"
    """A time-stamped event."""
    SEMANTIC = "semantic"
    """A fact or piece of knowledge."""
    RESOURCE = "resource"
    """A document, file or screenshot."""
    VAULT = "vault"
    """A secret: never embedded, never sent to a model unless the user asks."""

    @classmethod
    def parse(cls, value: str | MemoryType) -> MemoryType:
        """Turn user input into a type, or raise an error that lists the valid ones."""
        if isinstance(value, MemoryType):
            return value
        key = (value or "").strip().lower()
        for member in cls:
            if member.value == key:
                return member
        valid = ", ".join(m.value for m in cls)
        raise InputError(f"unknown memory type {value!r}", hint=f"valid types: {valid}")


TYPE_NAMES: tuple[str, ...] = tuple(m.value for m in MemoryType)


def content_hash(text: str) -> str:
    """The hash used to skip unchanged content: sha256 of the normalised text."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@dataclass
class NewMemory:
    """A memory that is not stored yet (what sources and ``mem add`` produce)."""

    text: str
    type: MemoryType = MemoryType.SEMANTIC
    source_kind: str = "cli"
    source_ref: str | None = None
    occurred_at: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    tags: list[str] = field(default_factory=list)
    importance: float = 0.5
    metadata: dict[str, Any] = field(default_factory=dict)
    # Type-specific fields.
    actor: str | None = None
    event: str | None = None
    subject: str | None = None
    title: str | None = None
    resource_kind: str | None = None
    path: str | None = None
    label: str | None = None

    def validate(self) -> None:
        """Raise :class:`InputError` when the memory cannot be stored."""
        if not self.text or not self.text.strip():
            raise InputError("memory text is empty", hint="give the text as an argument or on stdin")
        self.type = MemoryType.parse(self.type)
        if self.type is MemoryType.CORE and not self.label:
            self.label = _default_label(self.text)


def _default_label(text: str) -> str:
    words = [w.strip(".,:;!?").lower() for w in text.split()[:3]]
    return "-".join(w for w in words if w) or "note"


@dataclass
class Memory:
    """A stored memory (one row of the ``memories`` table)."""

    id: int
    type: MemoryType
    text: str
    source_kind: str
    source_ref: str | None
    recorded_at: str
    occurred_at: str | None
    valid_from: str | None
    valid_to: str | None
    superseded_by: int | None
    tags: list[str]
    importance: float
    access_count: int
    last_accessed_at: str | None
    content_hash: str
    metadata: dict[str, Any]
    updated_at: str | None = None
    actor: str | None = None
    event: str | None = None
    subject: str | None = None
    title: str | None = None
    resource_kind: str | None = None
    path: str | None = None
    label: str | None = None
    source_status: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Memory:
        """Build a memory from a database row."""
        data = dict(row)
        data["type"] = MemoryType(data["type"])
        data["tags"] = json.loads(data.get("tags") or "[]")
        data["metadata"] = json.loads(data.get("metadata") or "{}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def when(self) -> str | None:
        """The best date for the memory: when it happened, else when it was recorded."""
        return self.occurred_at or self.recorded_at

    @property
    def is_current(self) -> bool:
        """True unless another memory superseded this one."""
        return self.superseded_by is None

    @property
    def is_event(self) -> bool:
        """Dated by when it happened (an event), not only by when it was noted (a fact)."""
        return bool(self.occurred_at or self.valid_from)

    def chat_lines(self) -> list[tuple[str | None, str]]:
        """A chat memory's messages as (speaker, text); empty for a memory that is not a chat.

        Each ``Speaker: text`` line starts a message (the speakers are the metadata's); a line
        that starts with no known speaker continues the message before it.  A long message is
        stored in parts, so a part may start inside a message: that text comes first, with the
        speaker None.
        """
        speakers = [str(s) for s in self.metadata.get("speakers") or []]
        if not speakers:
            return []
        lines: list[tuple[str | None, str]] = []
        for line in self.text.split("\n"):
            speaker = next((s for s in speakers if line.startswith(f"{s}: ")), None)
            if speaker is None and lines:
                lines[-1] = (lines[-1][0], f"{lines[-1][1]} {line}")
            else:
                lines.append((speaker, line[len(speaker) + 2 :] if speaker else line))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["type"] = self.type.value
        return data


@dataclass(frozen=True)
class ChatPlace:
    """Where a chat window sits in its chat: its conversation and when it starts and ends."""

    id: int
    conversation: str | None
    start: str | None
    end: str | None

    @classmethod
    def of(cls, memory: Memory) -> ChatPlace:
        """The place of a chat memory (start and end from its metadata, else its time)."""
        meta = memory.metadata
        conversation = meta.get("conversation")
        return cls(
            id=memory.id,
            conversation=None if conversation is None else str(conversation),
            start=meta.get("start") or memory.occurred_at,
            end=meta.get("end") or memory.occurred_at,
        )
