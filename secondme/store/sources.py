"""Where memories came from: the ``sources`` table, the ingest error log and the watch queue.

All SQL about ingested files lives here; the ingest pipeline, the watcher and the faces ask
these classes instead of writing queries of their own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _prefix(folder: Path) -> str:
    return str(folder).rstrip("/") + "/"


class SourceStore:
    """The files ingested into one database, and what went wrong with them.

    Shares the memory store's connection, so that a file's source row and its memories are
    written in one transaction.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- reading ----------------------------------------------------------------------------

    def row(self, path: Path) -> dict[str, Any] | None:
        """The recorded state of a file, if it was seen before."""
        found = _rows(self.conn.execute("SELECT * FROM sources WHERE path = ?", (str(path),)))
        return found[0] if found else None

    def rows_under(self, folder: Path) -> list[dict[str, Any]]:
        """The recorded files inside ``folder`` (at any depth)."""
        prefix = _prefix(folder)
        # substr, not LIKE: "_" and "%" are ordinary characters in file names.
        return _rows(
            self.conn.execute("SELECT * FROM sources WHERE substr(path, 1, ?) = ?", (len(prefix), prefix))
        )

    def paths_with_hash(self, digest: str) -> list[str]:
        """Paths of present or gone files whose content had this hash (move detection)."""
        rows = self.conn.execute(
            "SELECT path FROM sources WHERE content_hash = ? AND status IN ('ok', 'gone')", (digest,)
        )
        return [r[0] for r in rows]

    def held_elsewhere(self, ids: Iterable[int], path: Path) -> set[int]:
        """Which of ``ids`` another present file also holds (the same chat in two exports)."""
        wanted = set(ids)
        if not wanted:
            return set()
        held: set[int] = set()
        rows = self.conn.execute(
            "SELECT memory_ids FROM sources WHERE path != ? AND status != 'gone' AND memory_ids != '[]'",
            (str(path),),
        )
        for (other,) in rows:
            held.update(wanted.intersection(json.loads(other)))
        return held

    def all_memory_ids(self) -> set[int]:
        """Every memory id any recorded file lists (gone files included)."""
        held: set[int] = set()
        for (ids,) in self.conn.execute("SELECT memory_ids FROM sources"):
            held.update(json.loads(ids))
        return held

    def counts_by_status(self) -> dict[str, int]:
        """How many recorded files are in each status."""
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM sources GROUP BY status").fetchall())

    def last_ingested(self) -> str | None:
        """When a file was last ingested."""
        return self.conn.execute("SELECT MAX(last_ingested) FROM sources").fetchone()[0]

    # -- writing (callers hold the transaction) ---------------------------------------------

    def save(self, path: Path, stamp: str, **values: Any) -> None:
        """Insert or update a file's row with ``values``."""
        existing = self.row(path)
        if existing is None:
            values.setdefault("memory_ids", "[]")
            columns = ["path", "first_seen", *values]
            self.conn.execute(
                f"INSERT INTO sources ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [str(path), stamp, *values.values()],
            )
        elif values:
            assignments = ", ".join(f"{k} = ?" for k in values)
            self.conn.execute(
                f"UPDATE sources SET {assignments} WHERE path = ?", [*values.values(), str(path)]
            )

    def delete(self, path: Path) -> None:
        """Drop a file's row."""
        self.conn.execute("DELETE FROM sources WHERE path = ?", (str(path),))

    def mark_gone(self, path: Path) -> None:
        """The file was deleted; its memories are kept."""
        self.conn.execute("UPDATE sources SET status = 'gone' WHERE path = ?", (str(path),))

    def rename(self, old: Path, new: Path) -> None:
        """The file moved (it is present again, whatever it was before)."""
        self.conn.execute("UPDATE sources SET path = ?, status = 'ok' WHERE path = ?", (str(new), str(old)))

    # -- the error log ----------------------------------------------------------------------

    def log_error(self, path: Path, reason: str, stamp: str) -> None:
        """Record a failure; the same failure seen again only refreshes its time."""
        # A re-run over a folder holding a broken file must not pile up copies of one entry.
        last = self.conn.execute(
            "SELECT id, reason FROM ingest_errors WHERE path = ? ORDER BY id DESC LIMIT 1", (str(path),)
        ).fetchone()
        if last is not None and last[1] == reason:
            self.conn.execute("UPDATE ingest_errors SET at = ? WHERE id = ?", (stamp, last[0]))
        else:
            self.conn.execute(
                "INSERT INTO ingest_errors (path, reason, at) VALUES (?, ?, ?)", (str(path), reason, stamp)
            )

    def recent_errors(self, limit: int = 20) -> list[dict[str, str]]:
        """The most recent ingest errors, newest first."""
        rows = self.conn.execute(
            "SELECT path, reason, at FROM ingest_errors ORDER BY at DESC, id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{"path": p, "reason": r, "at": a} for p, r, a in rows]

    def error_count(self) -> int:
        """How many errors are recorded."""
        return int(self.conn.execute("SELECT COUNT(*) FROM ingest_errors").fetchone()[0])

    # -- the watch queue, seen from the worker ----------------------------------------------

    def queue_depth(self) -> int:
        """How many watch-queue entries wait."""
        return int(self.conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0])

    def due_entries(self, now: float, limit: int) -> list[tuple[Any, ...]]:
        """Due queue entries: (id, path, event, dest_path, kind, attempts), oldest first."""
        return self.conn.execute(
            "SELECT id, path, event, dest_path, kind, attempts FROM ingest_queue "
            "WHERE due <= ? ORDER BY due, id LIMIT ?",
            (now, limit),
        ).fetchall()

    def finish_entry(self, entry_id: int, now: float | None = None) -> None:
        """Remove a handled entry; with ``now``, only if no newer event refreshed it meanwhile."""
        if now is None:
            self.conn.execute("DELETE FROM ingest_queue WHERE id = ?", (entry_id,))
        else:
            self.conn.execute("DELETE FROM ingest_queue WHERE id = ? AND due <= ?", (entry_id, now))

    def retry_entry(self, entry_id: int, due: float) -> None:
        """Try an entry again later."""
        self.conn.execute(
            "UPDATE ingest_queue SET attempts = attempts + 1, due = ? WHERE id = ?", (due, entry_id)
        )


class WatchQueue:
    """The ``ingest_queue`` table: one pending entry per path, due after the debounce delay.

    Has its own connection, because watchdog pushes from its observer thread while the worker
    ingests on the core's connection.
    """

    _UPSERT = (
        "INSERT INTO ingest_queue (path, event, dest_path, kind, due, enqueued_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET event = excluded.event, "
        "dest_path = excluded.dest_path, kind = excluded.kind, due = excluded.due, attempts = 0"
    )

    def __init__(self, db_file: Path) -> None:
        self.conn = sqlite3.connect(str(db_file), timeout=15, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout = 15000")
        # WAL is on for the file already; NORMAL keeps a queued event durable across a crash of
        # the process (not of the machine) without an fsync per event.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.lock = threading.Lock()

    def push(self, path: Path, event: str, kind: str, delay: float, dest: Path | None = None) -> None:
        """Add or refresh the entry for ``path`` (a newer event replaces an older one)."""
        self.push_many([(path, event, kind, dest)], delay)

    def push_many(self, entries: Sequence[tuple[Path, str, str, Path | None]], delay: float) -> None:
        """Add or refresh several entries (path, event, kind, dest) in one transaction."""
        if not entries:
            return
        now = time.time()
        rows = [(str(p), e, str(d) if d else None, k, now + delay, now) for p, e, k, d in entries]
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(self._UPSERT, rows)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def known_under(self, folder: Path) -> list[str]:
        """Recorded files inside ``folder`` that are not marked gone (read on this connection)."""
        prefix = _prefix(folder)
        with self.lock:
            rows = self.conn.execute(
                "SELECT path FROM sources WHERE status != 'gone' AND substr(path, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchall()
        return [r[0] for r in rows]

    def depth(self) -> int:
        """How many entries wait."""
        with self.lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0])

    def next_due(self) -> float | None:
        """When the earliest entry becomes due."""
        with self.lock:
            return self.conn.execute("SELECT MIN(due) FROM ingest_queue").fetchone()[0]

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()


def read_meta(db_file: Path, keys: Sequence[str]) -> dict[str, str]:
    """Values from the meta table of a database file, read without migrating or locking it."""
    import contextlib

    if not db_file.exists():
        return {}
    with contextlib.closing(sqlite3.connect(str(db_file), timeout=5)) as conn:
        with contextlib.suppress(sqlite3.Error):
            marks = ", ".join("?" * len(keys))
            return dict(conn.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", list(keys)))
    return {}
