"""All SQL about memories lives here: add, read, edit with history, supersede, forget, search."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from secondme import timeparse
from secondme.errors import InputError, NotFoundError, StoreError
from secondme.memory import ChatPlace, Memory, MemoryType, NewMemory, content_hash
from secondme.store.db import describe

# Words too common to help a keyword search; the vector side still sees them.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "ever",
        "last",
        "did",
    ]
)

_NEXT_ID = (
    "(SELECT MAX(COALESCE((SELECT MAX(id) FROM memories), 0), "
    "COALESCE((SELECT MAX(memory_id) FROM tombstones), 0)) + 1)"
)
_COLUMNS = [
    "type",
    "text",
    "source_kind",
    "source_ref",
    "recorded_at",
    "updated_at",
    "occurred_at",
    "valid_from",
    "valid_to",
    "superseded_by",
    "tags",
    "importance",
    "access_count",
    "last_accessed_at",
    "content_hash",
    "metadata",
    "actor",
    "event",
    "subject",
    "title",
    "resource_kind",
    "path",
    "label",
    "source_status",
]


@dataclass
class Filters:
    """What a listing or a search is restricted to."""

    types: Sequence[MemoryType] = ()
    since: str | None = None
    until: str | None = None
    include_superseded: bool = False
    include_vault: bool = False

    def sql(self, alias: str = "m") -> tuple[str, list[Any]]:
        """A WHERE fragment (starting with AND) and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.types:
            parts.append(f"{alias}.type IN ({','.join('?' * len(self.types))})")
            params.extend(t.value for t in self.types)
        elif not self.include_vault:
            parts.append(f"{alias}.type != 'vault'")
        if not self.include_superseded:
            parts.append(f"{alias}.superseded_by IS NULL")
        when = f"COALESCE({alias}.occurred_at, {alias}.recorded_at)"
        if self.since:
            parts.append(f"{when} >= ?")
            params.append(self.since)
        if self.until:
            parts.append(f"{when} <= ?")
            params.append(self.until)
        return "".join(f" AND {p}" for p in parts), params


def fts_query(text: str) -> str | None:
    """A safe FTS5 query from free text: the meaningful words, each quoted, OR-ed."""
    words = re.findall(r"\w+", text.lower())
    terms = [w for w in words if w not in STOPWORDS] or words
    seen: list[str] = []
    for word in terms:
        if word not in seen:
            seen.append(word)
    if not seen:
        return None
    return " OR ".join(f'"{w}"' for w in seen[:32])


class MemoryStore:
    """The memories of one database."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.conn: sqlite3.Connection = db.conn
        self.path = path
        self._names = [d[0] for d in self.conn.execute("SELECT * FROM memories LIMIT 0").description]

    # -- transactions -----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks)."""
        if self.conn.in_transaction:
            yield
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise describe(exc, self.path or Path("secondme.db")) from None
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- writing ----------------------------------------------------------------------------

    def add(self, new: NewMemory, dedupe: bool = True) -> tuple[Memory, bool]:
        """Store a memory; with ``dedupe``, the same current text and type returns the old one."""
        results = self.add_many([new], dedupe=dedupe)
        return results[0]

    def add_many(self, items: Iterable[NewMemory], dedupe: bool = True) -> list[tuple[Memory, bool]]:
        """Store several memories in one transaction; returns (memory, created) for each."""
        out: list[tuple[Memory, bool]] = []
        with self.transaction():
            for new in items:
                new.validate()
                digest = content_hash(new.text)
                if dedupe:
                    row = self.conn.execute(
                        "SELECT id FROM memories WHERE content_hash = ? AND type = ? "
                        "AND superseded_by IS NULL LIMIT 1",
                        (digest, new.type.value),
                    ).fetchone()
                    if row:
                        out.append((self.get(row[0]), False))
                        continue
                out.append((self.get(self._insert(new, digest)), True))
        return out

    def _insert(self, new: NewMemory, digest: str) -> int:
        stamp = timeparse.iso(timeparse.now())
        values = {
            "type": new.type.value,
            "text": new.text.strip(),
            "source_kind": new.source_kind,
            "source_ref": new.source_ref,
            "recorded_at": stamp,
            "updated_at": None,
            "occurred_at": new.occurred_at,
            "valid_from": new.valid_from or new.occurred_at,
            "valid_to": new.valid_to,
            "superseded_by": None,
            "tags": json.dumps(sorted(set(new.tags))),
            "importance": float(new.importance),
            "access_count": 0,
            "last_accessed_at": None,
            "content_hash": digest,
            "metadata": json.dumps(new.metadata, default=str),
            "actor": new.actor,
            "event": new.event,
            "subject": new.subject,
            "title": new.title,
            "resource_kind": new.resource_kind,
            "path": new.path,
            "label": new.label,
            "source_status": None,
        }
        # An id is never given twice: not even one whose memory was forgotten (its tombstone, an
        # old answer's citation or an export still names it).
        cursor = self.conn.execute(
            f"INSERT INTO memories (id, {', '.join(_COLUMNS)}) VALUES ({_NEXT_ID}, "
            f"{', '.join('?' * len(_COLUMNS))})",
            [values[c] for c in _COLUMNS],
        )
        return int(cursor.lastrowid or 0)

    def _snapshot(self, memory: Memory, change: str) -> None:
        version = self.conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM history WHERE memory_id = ?", (memory.id,)
        ).fetchone()[0]
        self.conn.execute(
            "INSERT INTO history (memory_id, version, changed_at, change, snapshot) VALUES (?, ?, ?, ?, ?)",
            (memory.id, version, timeparse.iso(timeparse.now()), change, json.dumps(memory.to_dict())),
        )

    def update(self, memory_id: int, change: str = "edit", **fields: Any) -> Memory:
        """Change fields of a memory, keeping the previous version in the history table."""
        allowed = {
            "text",
            "type",
            "tags",
            "occurred_at",
            "valid_from",
            "valid_to",
            "importance",
            "metadata",
            "actor",
            "event",
            "subject",
            "title",
            "label",
            "source_ref",
            "source_status",
            "path",
            "superseded_by",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise InputError(f"cannot change {', '.join(sorted(unknown))}")
        with self.transaction():
            current = self.get(memory_id)
            values: dict[str, Any] = {}
            for key, value in fields.items():
                if key == "text":
                    if not value or not str(value).strip():
                        raise InputError("memory text is empty")
                    value = str(value).strip()
                    values["content_hash"] = content_hash(value)
                elif key == "type":
                    value = MemoryType.parse(value).value
                elif key == "tags":
                    value = json.dumps(sorted(set(value)))
                elif key == "metadata":
                    value = json.dumps(value, default=str)
                values[key] = value
            if not values:
                return current
            self._snapshot(current, change)
            values["updated_at"] = timeparse.iso(timeparse.now())
            assignments = ", ".join(f"{k} = ?" for k in values)
            self.conn.execute(
                f"UPDATE memories SET {assignments} WHERE id = ?", [*values.values(), memory_id]
            )
            return self.get(memory_id)

    def supersede(self, old_id: int, new: NewMemory) -> Memory:
        """Store ``new`` and mark ``old_id`` as replaced by it; the old one stays readable."""
        with self.transaction():
            old = self.get(old_id)
            created, _ = self.add(new, dedupe=False)
            self._snapshot(old, "supersede")
            stamp = new.valid_from or new.occurred_at or timeparse.iso(timeparse.now())
            self.conn.execute(
                "UPDATE memories SET superseded_by = ?, valid_to = COALESCE(valid_to, ?), "
                "updated_at = ? WHERE id = ?",
                (created.id, stamp, timeparse.iso(timeparse.now()), old_id),
            )
            return created

    def mark_superseded(self, old_id: int, new_id: int) -> None:
        """Record that ``new_id`` replaces ``old_id`` (both stored already); history kept."""
        with self.transaction():
            old = self.get(old_id)
            if old.superseded_by is not None:
                return
            self._snapshot(old, "supersede")
            stamp = timeparse.iso(timeparse.now())
            self.conn.execute(
                "UPDATE memories SET superseded_by = ?, valid_to = COALESCE(valid_to, ?), "
                "updated_at = ? WHERE id = ?",
                (new_id, stamp, stamp, old_id),
            )

    def relocate(self, ids: Sequence[int], old_path: str, new_path: str) -> None:
        """A source file moved: point provenance (source_ref, path) at its new place."""
        with self.transaction():
            for memory_id in ids:
                self.conn.execute(
                    "UPDATE memories SET source_ref = ? || substr(source_ref, ?), "
                    "path = CASE WHEN path = ? THEN ? ELSE path END "
                    "WHERE id = ? AND source_ref LIKE ? ESCAPE '\\'",
                    (new_path, len(old_path) + 1, old_path, new_path, memory_id, _like_prefix(old_path)),
                )

    def set_source_status(self, ids: Sequence[int], status: str | None) -> None:
        """Mark memories whose source file is gone (or back)."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE memories SET source_status = ? WHERE id = ?", [(status, i) for i in ids]
            )

    def forget(self, ids: Iterable[int], reason: str = "by id") -> list[int]:
        """Delete memories and their history for good, leaving a tombstone (id, time, reason) each.

        ``secure_delete`` (set on every connection) zeroes the freed bytes; call
        :meth:`purge_freed` afterwards to clear the full-text segments and the WAL too.
        """
        removed: list[int] = []
        stamp = timeparse.iso(timeparse.now())
        with self.transaction():
            for memory_id in ids:
                cursor = self.conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
                if cursor.rowcount:
                    removed.append(memory_id)
                    self.conn.execute("DELETE FROM history WHERE memory_id = ?", (memory_id,))
                    self.conn.execute(
                        "UPDATE memories SET superseded_by = NULL WHERE superseded_by = ?",
                        (memory_id,),
                    )
                    self.conn.execute(
                        "INSERT INTO tombstones (memory_id, forgotten_at, reason) VALUES (?, ?, ?)",
                        (memory_id, stamp, reason),
                    )
        return removed

    def with_earlier_versions(self, ids: Iterable[int]) -> list[int]:
        """``ids`` and every memory they superseded, directly or down a chain (older texts)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return []
        rows = self.conn.execute(
            "WITH RECURSIVE chain(id) AS ("
            " SELECT value FROM json_each(?)"
            " UNION SELECT m.id FROM memories m JOIN chain c ON m.superseded_by = c.id"
            ") SELECT id FROM chain",
            (json.dumps(wanted),),
        ).fetchall()
        found = [int(r[0]) for r in rows]
        return wanted + [i for i in found if i not in wanted]

    def purge_freed(self) -> None:
        """Leave no trace of deleted text: merge the FTS segments and empty the WAL.

        FTS5 keeps a deleted row's tokens in its segment blobs until the segments are merged;
        ``optimize`` merges them all (secure_delete zeroes the old pages).  The WAL still holds
        the old pages until a checkpoint copies them back and TRUNCATE empties the file; a reader
        that holds a snapshot open delays that, so it is retried (the busy timeout waits too).
        """
        import time

        with self.transaction():
            self.conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")
        for attempt in range(20):
            busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return
            time.sleep(0.05 * (attempt + 1))
        raise StoreError(
            "the write-ahead log could not be emptied: another process keeps reading the database",
            hint="close other secondme processes (a watcher, the TUI) and run `mem forget` again",
        )

    def drop_history(self, memory_id: int) -> None:
        """Delete a memory's earlier versions (its text moved into the vault)."""
        with self.transaction():
            self.conn.execute("DELETE FROM history WHERE memory_id = ?", (memory_id,))

    def vault_rows(self) -> list[tuple[int, str, str | None]]:
        """(id, text, label) of every vault memory (to find text stored before encryption)."""
        rows = self.conn.execute("SELECT id, text, label FROM memories WHERE type = 'vault' ORDER BY id")
        return [(int(i), str(t), lbl) for i, t, lbl in rows]

    def seal_text(self, memory_id: int, text: str, label: str | None) -> None:
        """Replace a vault memory's plain text by its placeholder, keeping no history of it."""
        with self.transaction():
            self.conn.execute(
                "UPDATE memories SET text = ?, content_hash = ?, label = ? WHERE id = ?",
                (text, content_hash(text), label, memory_id),
            )
            self.conn.execute("DELETE FROM history WHERE memory_id = ?", (memory_id,))

    def ids_from_source(self, source: str) -> list[int]:
        """Memories that came from a file (or any file under a folder)."""
        source = source.rstrip("/")
        rows = self.conn.execute(
            "SELECT id FROM memories WHERE source_ref = ? OR path = ? "
            "OR source_ref LIKE ? ESCAPE '\\' OR source_ref LIKE ? ESCAPE '\\' "
            "OR path LIKE ? ESCAPE '\\' ORDER BY id",
            (source, source, *(_like_prefix(source + end) for end in ("#", "/", "/"))),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def drop_sources(self, source: str) -> None:
        """Forget that a file (or a folder's files) was ingested."""
        source = source.rstrip("/")
        with self.transaction():
            for table in ("sources", "ingest_queue", "ingest_errors"):
                self.conn.execute(
                    f"DELETE FROM {table} WHERE path = ? OR path LIKE ? ESCAPE '\\'",
                    (source, _like_prefix(source + "/")),
                )

    def ids_between(self, since: str | None, until: str | None) -> list[int]:
        """Memories whose time (event time, else recorded) falls in the range (vault included)."""
        where, params = Filters(include_superseded=True, include_vault=True, since=since, until=until).sql()
        rows = self.conn.execute(f"SELECT m.id FROM memories m WHERE 1=1{where} ORDER BY m.id", params)
        return [int(r[0]) for r in rows]

    def tombstones(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest tombstones: id, when and why a memory was forgotten."""
        rows = self.conn.execute(
            "SELECT memory_id, forgotten_at, reason FROM tombstones ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [{"id": i, "forgotten_at": at, "reason": r} for i, at, r in rows]

    def touch(self, ids: Sequence[int]) -> None:
        """Count an access (a memory used in an answer or opened)."""
        if not ids:
            return
        with self.transaction():
            self.conn.executemany(
                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ? WHERE id = ?",
                [(timeparse.iso(timeparse.now()), i) for i in ids],
            )

    def set_core(self, label: str, value: str) -> Memory:
        """Set the core memory ``label``; an older value is superseded, not lost."""
        label = label.strip()
        if not label:
            raise InputError("core label is empty")
        new = NewMemory(text=value, type=MemoryType.CORE, label=label, source_kind="cli", importance=1.0)
        with self.transaction():
            row = self.conn.execute(
                "SELECT id FROM memories WHERE type = 'core' AND label = ? "
                "AND superseded_by IS NULL ORDER BY id DESC LIMIT 1",
                (label,),
            ).fetchone()
            if row is None:
                return self.add(new, dedupe=False)[0]
            existing = self.get(row[0])
            if existing.content_hash == content_hash(value):
                return existing
            return self.supersede(row[0], new)

    # -- reading ----------------------------------------------------------------------------

    def get(self, memory_id: int) -> Memory:
        """One memory, or :class:`NotFoundError`."""
        row = self.conn.execute("SELECT * FROM memories WHERE id = ?", (memory_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {memory_id}", hint="see `mem list`")
        return Memory.from_row(self._as_dict(row))

    def get_many(self, ids: Sequence[int]) -> dict[int, Memory]:
        """Memories by id (missing ids are left out)."""
        out: dict[int, Memory] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT * FROM memories WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for row in rows:
                memory = Memory.from_row(self._as_dict(row))
                out[memory.id] = memory
        return out

    def _as_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(self._names, row, strict=False))

    def history(self, memory_id: int) -> list[dict[str, Any]]:
        """Earlier versions of a memory, oldest first."""
        rows = self.conn.execute(
            "SELECT version, changed_at, change, snapshot FROM history WHERE memory_id = ? ORDER BY version",
            (memory_id,),
        ).fetchall()
        return [
            {"version": v, "changed_at": at, "change": c, "snapshot": json.loads(s)} for v, at, c, s in rows
        ]

    def listing(
        self, filters: Filters | None = None, limit: int = 50, offset: int = 0, newest_first: bool = True
    ) -> list[Memory]:
        """Memories in time order (by event time, else recorded time)."""
        filters = filters or Filters(include_vault=True)
        where, params = filters.sql()
        order = "DESC" if newest_first else "ASC"
        rows = self.conn.execute(
            f"SELECT m.* FROM memories m WHERE 1=1{where} "
            f"ORDER BY COALESCE(m.occurred_at, m.recorded_at) {order}, m.id {order} "
            "LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [Memory.from_row(self._as_dict(r)) for r in rows]

    def count(self, filters: Filters | None = None) -> int:
        """How many memories match."""
        filters = filters or Filters(include_vault=True)
        where, params = filters.sql()
        return int(
            self.conn.execute(f"SELECT COUNT(*) FROM memories m WHERE 1=1{where}", params).fetchone()[0]
        )

    def counts_by_type(self, include_superseded: bool = False) -> dict[str, int]:
        """Current memories per type (every type present, zero included)."""
        clause = "" if include_superseded else "WHERE superseded_by IS NULL"
        rows = self.conn.execute(f"SELECT type, COUNT(*) FROM memories {clause} GROUP BY type")
        counts = {t.value: 0 for t in MemoryType}
        counts.update({t: n for t, n in rows})
        return counts

    def core(self) -> list[Memory]:
        """The current core memories, pinned into every prompt."""
        rows = self.conn.execute(
            "SELECT * FROM memories WHERE type = 'core' AND superseded_by IS NULL "
            "ORDER BY importance DESC, id"
        ).fetchall()
        return [Memory.from_row(self._as_dict(r)) for r in rows]

    def keyword_search(self, query: str, filters: Filters, limit: int) -> list[tuple[int, float]]:
        """FTS5 BM25 matches as (id, bm25) pairs, best first (lower bm25 is better)."""
        match = fts_query(query)
        if match is None:
            return []
        where, params = filters.sql()
        sql = (
            "SELECT m.id, bm25(memories_fts, 1.0, 0.8, 0.8, 0.8, 0.3) AS rank "
            "FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid "
            f"WHERE memories_fts MATCH ?{where} ORDER BY rank LIMIT ?"
        )
        try:
            rows = self.conn.execute(sql, [match, *params, limit]).fetchall()
        except sqlite3.OperationalError as exc:
            raise describe(exc, self.path or Path("secondme.db")) from None
        return [(int(i), float(r)) for i, r in rows]

    def chat_windows_near(
        self, memories: Sequence[Memory], reach: timedelta, filters: Filters
    ) -> dict[int, list[ChatPlace]]:
        """For each chat window in ``memories``: the places of the windows of the same chat (file
        and conversation) that ``filters`` allow and that start within ``reach`` of its start
        (itself included).

        Memories that are not windows of a chat file get nothing.  Windows of one chat whose
        ranges overlap are looked up together, so a sitting costs one query.
        """
        by_chat: dict[tuple[str, str | None], list[tuple[datetime, Memory]]] = {}
        for memory in memories:
            path, sep, _refs = (memory.source_ref or "").rpartition("#")
            start = timeparse.parse_iso(memory.occurred_at)
            if memory.source_kind == "chat" and sep and path and start is not None:
                by_chat.setdefault((path, ChatPlace.of(memory).conversation), []).append((start, memory))
        where, params = filters.sql()
        # The time range decides which rows are read: any other index (the source's, the
        # superseded flag's) would scan every window of a long chat, or every memory.
        sql = (
            "SELECT m.id, COALESCE(json_extract(m.metadata, '$.start'), m.occurred_at), "
            "COALESCE(json_extract(m.metadata, '$.end'), m.occurred_at) "
            "FROM memories m INDEXED BY idx_memories_occurred "
            "WHERE m.occurred_at >= ? AND m.occurred_at <= ? "
            "AND m.source_kind = 'chat' AND m.source_ref >= ? AND m.source_ref < ? "
            f"AND CAST(json_extract(m.metadata, '$.conversation') AS TEXT) IS ?{where}"
        )
        found: dict[int, list[ChatPlace]] = {}
        for (path, conversation), starts in by_chat.items():
            for group in _overlapping(starts, reach):
                low, high = group[0][0] - reach, group[-1][0] + reach
                rows = self.conn.execute(
                    sql, [low.isoformat(), high.isoformat(), path + "#", path + "$", conversation, *params]
                ).fetchall()
                near = [ChatPlace(int(i), conversation, start, end) for i, start, end in rows]
                found.update((memory.id, near) for _start, memory in group)
        return found

    def predecessors(self, memory_id: int) -> list[Memory]:
        """The memories that ``memory_id`` superseded, oldest first."""
        rows = self.conn.execute(
            "SELECT id FROM memories WHERE superseded_by = ? ORDER BY id", (memory_id,)
        ).fetchall()
        found = self.get_many([int(r[0]) for r in rows])
        return [found[i] for i in sorted(found)]

    def max_id(self) -> int:
        """The highest memory id (0 when empty)."""
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM memories").fetchone()[0])

    # -- vector bookkeeping -----------------------------------------------------------------

    def vector_candidates(self, after_id: int = 0, limit: int = 1000) -> list[Memory]:
        """Memories that belong in the vector index (everything but vault), by id."""
        rows = self.conn.execute(
            "SELECT * FROM memories WHERE type != 'vault' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [Memory.from_row(self._as_dict(r)) for r in rows]

    def pending_vectors(self, limit: int = 1000) -> list[Memory]:
        """Memories whose vector is missing or out of date.

        Only rows the ``vector_dirty`` triggers flagged are looked at, so this costs nothing
        when the index is up to date, however many memories there are.
        """
        rows = self.conn.execute(
            "SELECT m.* FROM vector_dirty d JOIN memories m ON m.id = d.memory_id "
            "LEFT JOIN vector_state v ON v.memory_id = m.id "
            f"WHERE m.type != 'vault' AND (v.memory_id IS NULL OR v.signature != {_SIGNATURE_SQL}) "
            "ORDER BY m.id LIMIT ?",
            (limit,),
        ).fetchall()
        return [Memory.from_row(self._as_dict(r)) for r in rows]

    def pending_vector_ids(self) -> list[int]:
        """Ids of every memory :meth:`pending_vectors` would give, without reading the rows."""
        rows = self.conn.execute(
            "SELECT m.id FROM vector_dirty d JOIN memories m ON m.id = d.memory_id "
            "LEFT JOIN vector_state v ON v.memory_id = m.id "
            f"WHERE m.type != 'vault' AND (v.memory_id IS NULL OR v.signature != {_SIGNATURE_SQL}) "
            "ORDER BY m.id"
        ).fetchall()
        return [int(r[0]) for r in rows]

    def has_pending_vectors(self) -> bool:
        """True when some memory may need (re-)indexing or removal from the index."""
        return self.conn.execute("SELECT EXISTS (SELECT 1 FROM vector_dirty)").fetchone()[0] == 1

    def orphan_vectors(self) -> list[int]:
        """Ids the index holds that the database no longer has (or holds as vault)."""
        rows = self.conn.execute(
            "SELECT d.memory_id FROM vector_dirty d JOIN vector_state v ON v.memory_id = d.memory_id "
            "LEFT JOIN memories m ON m.id = d.memory_id WHERE m.id IS NULL OR m.type = 'vault'"
        ).fetchall()
        return [int(r[0]) for r in rows]

    def clear_clean_dirty(self) -> None:
        """Unflag memories the index now agrees with (one statement: a concurrent add stays flagged)."""
        with self.transaction():
            self.conn.execute(
                "DELETE FROM vector_dirty WHERE memory_id IN ("
                " SELECT d.memory_id FROM vector_dirty d LEFT JOIN memories m ON m.id = d.memory_id"
                " LEFT JOIN vector_state v ON v.memory_id = d.memory_id"
                " WHERE (m.id IS NULL AND v.memory_id IS NULL)"
                " OR (m.type = 'vault' AND v.memory_id IS NULL)"
                f" OR (m.type != 'vault' AND v.signature = {_SIGNATURE_SQL}))"
            )

    def mark_indexed(self, memories: Sequence[Memory], model: str) -> None:
        """Record that these memories' vectors are in the index as they are now."""
        stamp = timeparse.iso(timeparse.now())
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO vector_state (memory_id, signature, model, indexed_at) "
                "VALUES (?, ?, ?, ?)",
                [(m.id, plain_signature(m), model, stamp) for m in memories],
            )

    def unmark_indexed(self, ids: Sequence[int] | None = None) -> None:
        """Forget what the index holds (all of it when ``ids`` is None): they get re-indexed."""
        with self.transaction():
            if ids is None:
                self.conn.execute("DELETE FROM vector_state")
                self.conn.execute("INSERT OR IGNORE INTO vector_dirty SELECT id FROM memories")
            else:
                self.conn.executemany("DELETE FROM vector_state WHERE memory_id = ?", [(i,) for i in ids])
                self.conn.executemany(
                    "INSERT OR IGNORE INTO vector_dirty (memory_id) VALUES (?)", [(i,) for i in ids]
                )

    def drop_indexed(self, ids: Sequence[int]) -> None:
        """The index no longer holds these ids (they were deleted from it)."""
        with self.transaction():
            self.conn.executemany("DELETE FROM vector_state WHERE memory_id = ?", [(i,) for i in ids])

    def current_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` exist and are not superseded."""
        if not ids:
            return set()
        rows = self.conn.execute(
            f"SELECT id FROM memories WHERE superseded_by IS NULL AND id IN ({','.join('?' * len(ids))})",
            list(ids),
        )
        return {int(r[0]) for r in rows}

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the meta table."""
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


# plain_signature() computed in SQL, for memories ``m``.
_SIGNATURE_SQL = (
    "(m.content_hash || '|' || m.type || '|' || COALESCE(m.occurred_at, m.recorded_at) || '|' "
    "|| (m.superseded_by IS NULL))"
)


def _overlapping(
    starts: list[tuple[datetime, Memory]], reach: timedelta
) -> list[list[tuple[datetime, Memory]]]:
    """Windows in time order, grouped where their ``reach`` ranges overlap (aware and naive
    times in one chat: each window alone)."""
    try:
        ordered = sorted(starts, key=lambda pair: (pair[0], pair[1].id))
        groups = [[ordered[0]]]
        for pair in ordered[1:]:
            if pair[0] - groups[-1][-1][0] <= 2 * reach:
                groups[-1].append(pair)
            else:
                groups.append([pair])
    except TypeError:
        return [[pair] for pair in starts]
    return groups


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def plain_signature(memory: Memory) -> str:
    """The signature as SQL computes it in :meth:`MemoryStore.pending_vectors`."""
    current = 1 if memory.superseded_by is None else 0
    return f"{memory.content_hash}|{memory.type.value}|{memory.when}|{current}"


def when_timestamp(memory: Memory) -> int:
    """Seconds since the epoch of the memory's time, for range filters in the vector index."""
    return int(datetime.fromisoformat(memory.when or "1970-01-01T00:00:00").timestamp())
