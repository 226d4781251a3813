"""Facebook Messenger JSON export (``message_1.json`` in each ``inbox/<thread>/`` folder).

The file lists ``participants`` and ``messages`` (newest first) with ``sender_name``,
``timestamp_ms`` and ``content``; photos, videos, audio, files, stickers and GIFs come as lists
of URIs.  Facebook writes every non-ASCII character as UTF-8 bytes escaped one by one, so after
JSON decoding "café" reads "cafÃ©"; encoding the string back to Latin-1 and decoding it as UTF-8
undoes that where it applies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    decode_text,
    from_epoch,
    head_text,
    read_bytes,
    repair_mojibake,
)
from secondme.ingest.sources.chats import finish

FORMAT = "messenger"

_MEDIA_KEYS = ("photos", "videos", "audio_files", "files", "gifs", "sticker", "share")


def detect(head: bytes, path: Path) -> bool:
    """A JSON object with Messenger's ``participants`` / ``sender_name`` / ``timestamp_ms``."""
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return False
    return '"participants"' in text and ('"sender_name"' in text or '"timestamp_ms"' in text)


def _fix(value: Any) -> str:
    return repair_mojibake(value) if isinstance(value, str) else ""


def parse_messenger(path: Path) -> ParseResult:
    """Parse a Messenger ``message_N.json`` file, repairing its mis-encoded text."""
    try:
        data = json.loads(decode_text(read_bytes(path)))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ParseError(f"{path.name} is not a Messenger export (no messages list)")

    participants = [_fix(p.get("name")) for p in data.get("participants") or [] if isinstance(p, dict)]
    title = _fix(data.get("title")) or " and ".join(p for p in participants if p) or path.stem
    problems: list[ParseProblem] = []
    found: list[tuple[int, ChatMessage]] = []
    for index, raw in enumerate(data["messages"]):
        where = f"message {index}"
        if not isinstance(raw, dict):
            problems.append(ParseProblem(where, "not an object"))
            continue
        stamp = raw.get("timestamp_ms")
        timestamp = from_epoch(stamp, millis=True)
        if timestamp is None:
            problems.append(ParseProblem(where, "no readable timestamp_ms"))
            continue
        meta: dict[str, Any] = {"timestamp_ms": stamp}
        media = [key for key in _MEDIA_KEYS if raw.get(key)]
        if media:
            meta["media"] = True
            meta["media_kind"] = media[0]
        if raw.get("is_unsent"):
            meta["deleted"] = True
        reactions = raw.get("reactions")
        if isinstance(reactions, list) and reactions:
            meta["reactions"] = [
                {"reaction": _fix(r.get("reaction")), "actor": _fix(r.get("actor"))}
                for r in reactions
                if isinstance(r, dict)
            ]
        text = _fix(raw.get("content"))
        if not text and not media and not meta.get("deleted"):
            problems.append(ParseProblem(where, "message with neither text nor attachment"))
            continue
        found.append(
            (
                index,
                ChatMessage(
                    conversation=title,
                    speaker=_fix(raw.get("sender_name")) or "unknown",
                    text=text,
                    timestamp=timestamp,
                    ref=where,
                    meta=meta,
                ),
            )
        )
    # Messenger lists newest first; memories read better oldest first.  Ties keep file order
    # reversed, which is chronological for equal timestamps too.
    found.sort(key=lambda item: (item[1].timestamp, -item[0]))
    return finish(FORMAT, path, [message for _, message in found], problems)
