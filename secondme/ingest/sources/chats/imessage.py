"""macOS Messages database: ``~/Library/Messages/chat.db`` (SQLite).

Tables used: ``message`` (text, date, is_from_me, handle_id), ``handle`` (phone number or email),
``chat`` (group names) and ``chat_message_join``.  Dates count from 2001-01-01 UTC, in seconds on
old systems and nanoseconds since macOS 10.13.  Recent macOS versions often leave ``text`` empty
and keep the words only in ``attributedBody``, an archived NSAttributedString; the string is
pulled out of that blob.  The database is opened read-only through a ``mode=ro`` URI so that
ingesting never changes the user's Messages store.

Columns differ between macOS versions, so the query only names columns that exist.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    from_apple_time,
)
from secondme.ingest.sources.chats import finish

FORMAT = "imessage"

_SQLITE_MAGIC = b"SQLite format 3\x00"
_OBJECT_REPLACEMENT = "\ufffc"  # where an attachment sits inside the text
# associated_message_type 2000-2005 (and 3000-3005 for removal) are tapbacks: "Loved ...".
_REACTION_TYPES = range(2000, 4000)


def _connect(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    # A damaged database can hold invalid UTF-8; keep the rest of the text readable.
    conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
    return conn


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def detect(head: bytes, path: Path) -> bool:
    """An SQLite database with the Messages ``message`` and ``handle`` tables."""
    if not head.startswith(_SQLITE_MAGIC):
        return False
    try:
        conn = _connect(path)
        try:
            tables = _tables(conn)
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError):
        return False
    return {"message", "handle"} <= tables


def decode_attributed_body(blob: bytes | None) -> str | None:
    """The plain string inside an archived NSAttributedString (``message.attributedBody``).

    The typedstream format stores the string after the ``NSString`` class name, as a ``+``
    marker and a length: one byte, or 0x81 and two little-endian bytes, or 0x82 and four.
    """
    if not blob:
        return None
    start = blob.find(b"NSString")
    if start < 0:
        return None
    plus = blob.find(b"+", start + len(b"NSString"), start + len(b"NSString") + 16)
    if plus < 0:
        return None
    pos = plus + 1
    if pos >= len(blob):
        return None
    marker = blob[pos]
    if marker == 0x81:
        size, pos = int.from_bytes(blob[pos + 1 : pos + 3], "little"), pos + 3
    elif marker == 0x82:
        size, pos = int.from_bytes(blob[pos + 1 : pos + 5], "little"), pos + 5
    else:
        size, pos = marker, pos + 1
    raw = blob[pos : pos + size]
    if len(raw) < size or size == 0:
        return None
    return raw.decode("utf-8", errors="replace")


def parse_imessage(path: Path) -> ParseResult:
    """Parse a Messages ``chat.db``; messages you sent have the speaker ``me``."""
    try:
        with open(path, "rb") as handle:
            if handle.read(16) != _SQLITE_MAGIC:
                raise ParseError(f"{path.name} is not an SQLite database")
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        raise ParseError(f"cannot open {path.name}: {exc}") from exc
    try:
        return _parse(path, conn)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        # A damaged schema makes SQLite report an error message Python cannot even decode.
        raise ParseError(f"{path.name} is not a readable Messages database: {exc}") from exc
    finally:
        conn.close()


def _parse(path: Path, conn: sqlite3.Connection) -> ParseResult:
    tables = _tables(conn)
    if not {"message", "handle"} <= tables:
        raise ParseError(f"{path.name} has no message/handle tables: not a Messages database")
    cols = _columns(conn, "message")

    def col(name: str, default: str = "NULL") -> str:
        return f"m.{name}" if name in cols else default

    has_join = "chat_message_join" in tables
    has_chat = has_join and "chat" in tables
    chat_cols = _columns(conn, "chat") if has_chat else set()
    chat_name = "NULL"
    if has_chat:
        # Messages leaves display_name '' (not NULL) for one-to-one chats.
        parts = [f"NULLIF(c.{c}, '')" for c in ("display_name", "chat_identifier") if c in chat_cols]
        chat_name = f"COALESCE({', '.join(parts)}, NULL)" if parts else "NULL"
    joins = "LEFT JOIN handle h ON h.ROWID = m.handle_id"
    if has_join:
        joins += " LEFT JOIN chat_message_join cmj ON cmj.message_id = m.ROWID"
    if has_chat:
        joins += " LEFT JOIN chat c ON c.ROWID = cmj.chat_id"
    # Only column names read from the schema itself are put into the SQL text.
    query = f"""
        SELECT m.ROWID, {col("guid")}, {col("text")}, {col("attributedBody")}, {col("date")},
               {col("is_from_me", "0")}, {col("cache_has_attachments", "0")},
               {col("associated_message_type", "0")}, {col("service")},
               h.id, {"cmj.chat_id" if has_join else "NULL"}, {chat_name}
        FROM message m {joins}
        ORDER BY {col("date", "m.ROWID")}, m.ROWID
    """

    messages: list[ChatMessage] = []
    problems: list[ParseProblem] = []
    for row in conn.execute(query):
        (rowid, guid, text, body, date, from_me, attachments, assoc, service) = row[:9]
        handle_id, chat_id, chat_title = row[9:]
        where = f"message {rowid}"
        if not isinstance(text, str) or not text.strip():
            text = decode_attributed_body(body if isinstance(body, bytes) else None) or ""
        text = text.strip()
        meta: dict[str, Any] = {"message_id": rowid}
        if guid:
            meta["guid"] = guid
        if service:
            meta["service"] = service
        if _OBJECT_REPLACEMENT in text or attachments:
            meta["media"] = True
            text = text.replace(_OBJECT_REPLACEMENT, "").strip()
        if isinstance(assoc, int) and assoc in _REACTION_TYPES:
            meta["reaction"] = True
        if not text and not meta.get("media"):
            problems.append(ParseProblem(where, "no text (empty or unreadable attributedBody)"))
            continue
        timestamp = from_apple_time(date)
        speaker = "me" if from_me else (handle_id or "unknown")
        conversation = chat_title or handle_id or (f"chat {chat_id}" if chat_id else "iMessage")
        messages.append(
            ChatMessage(
                conversation=str(conversation),
                speaker=str(speaker),
                text=text,
                timestamp=timestamp,
                ref=where,
                meta=meta,
            )
        )
    # Group by conversation, keeping time order inside each, so windows do not interleave.
    order: dict[str, int] = {}
    for message in messages:
        order.setdefault(message.conversation, len(order))
    messages.sort(key=lambda m: order[m.conversation])
    return finish(FORMAT, path, messages, problems)
