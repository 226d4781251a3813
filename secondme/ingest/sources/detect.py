"""Which source reads a file: decided from its content, not only its name.

Containers are looked into: a zip by its member names (a Slack export), an SQLite file by its
header and tables (the Messages database).  Everything else is judged on the first few KB.
"""

from __future__ import annotations

from pathlib import Path

from secondme.ingest.sources.base import HEAD_BYTES, Source, binary_ratio, head_text, read_head

SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGIC = b"PK\x03\x04"


def sniff(head: bytes) -> str:
    """A coarse kind for the first bytes of a file, to say why no source took it.

    One of ``empty``, ``zip``, ``sqlite``, ``image``, ``pdf``, ``json``, ``html``, ``text`` or
    ``binary``.
    """
    from secondme.ingest.sources.screenshots import is_image

    if not head:
        return "empty"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if is_image(head):
        return "image"
    if head.startswith(b"%PDF"):
        return "pdf"
    text = head_text(head)
    if binary_ratio(text) > 0.1:
        return "binary"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    if stripped[:15].lower().startswith(("<!doctype html", "<html")):
        return "html"
    return "text"


def detect_source(path: Path, sources: list[Source] | None = None) -> Source | None:
    """The first source that recognises ``path`` from its content, or None.

    Sources are asked in order; the built-in order puts the most specific checks first (chat
    formats, then images, then notes, which accept any text file with a note suffix).
    """
    if sources is None:
        from secondme.ingest.sources import builtin_sources

        sources = builtin_sources()
    path = Path(path)
    if not path.is_file():
        return None
    head = read_head(path, HEAD_BYTES)
    if not head:
        return None
    for source in sources:
        try:
            if source.can_parse(path, head):
                return source
        except Exception:
            # A plugin's broken detector must not stop the other sources being asked.
            continue
    return None
