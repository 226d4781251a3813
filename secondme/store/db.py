"""Opening the SQLite database: WAL, a busy timeout, and migrations applied once."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from secondme.errors import StoreError

BUSY_TIMEOUT_MS = 15_000


@contextlib.contextmanager
def file_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on ``path`` across processes (a lock file next to the data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def connect(path: Path) -> Database:
    """Open (and create or migrate) the database at ``path``."""
    from secondme.store.migrations import migrations

    _private_files(path)
    # Opening is one process at a time (it takes milliseconds): two processes starting on a new
    # home must not both switch it to WAL or both create the tables, and a switch to WAL that
    # meets another process's open can fail at once, without waiting for the busy timeout.
    with file_lock(path.with_name(path.name + ".migrate.lock")):
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Deleted content is overwritten with zeros, not left in free pages (real forgetting).
            conn.execute("PRAGMA secure_delete = ON")
            db = Database(conn)
            if migrations.pending(db):
                migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise describe(exc, path) from None
    return db


def _private_files(path: Path) -> None:
    """Create the database 0600 (SQLite gives its -wal and -shm files the same mode) and tighten
    the mode of files an older version left readable to others."""
    import os

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError:
            pass  # absent, or not ours


def describe(exc: sqlite3.Error, path: Path) -> StoreError:
    """Turn a sqlite3 error into an error a person can act on."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the database {path} is locked by another process",
            hint="wait for it to finish (a watcher or another mem command) and try again",
        )
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"the database {path} is damaged: {text}",
            hint="restore it from a backup; the vector index can be rebuilt with `mem reindex`",
        )
    return StoreError(f"database error in {path}: {text}")
