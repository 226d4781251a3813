"""Sources: the kinds of files secondme reads (notes, chats, screenshots).

Each source recognises files by content and parses them into memory drafts; see
:mod:`secondme.ingest.sources.base` for the shared types.
"""

from __future__ import annotations

from pathlib import Path

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    Source,
)
from secondme.ingest.sources.chats import ChatsSource
from secondme.ingest.sources.notes import NotesSource
from secondme.ingest.sources.screenshots import ScreenshotsSource

__all__ = [
    "ChatMessage",
    "ChatsSource",
    "NotesSource",
    "ParseError",
    "ParseProblem",
    "ParseResult",
    "ScreenshotsSource",
    "Source",
    "builtin_sources",
    "detect_source",
]


def builtin_sources() -> list[Source]:
    """The sources that ship with secondme, most specific first (chats, screenshots, notes)."""
    return [ChatsSource(), ScreenshotsSource(), NotesSource()]


def detect_source(path: Path | str, sources: list[Source] | None = None) -> Source | None:
    """The source that can read ``path``, judged from its first bytes; None when none can."""
    from secondme.ingest.sources.detect import detect_source as _detect

    return _detect(Path(path), sources)
