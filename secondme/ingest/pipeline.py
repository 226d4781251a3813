"""Turning files into memories, idempotently: unchanged files do no work, changed files supersede
their old memories, deleted files mark theirs as source-gone, moved files keep theirs.

Every file is ingested in one SQLite transaction (its memories, its ``sources`` row and, for the
watcher, its queue entry), so a crash at any point leaves either all of it or none of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme import timeparse
from secondme.memory import Memory, NewMemory, content_hash

if TYPE_CHECKING:
    from secondme.ingest.sources.base import Source
    from secondme.service import Secondme

KINDS = ("auto", "notes", "chats", "screenshots")

# Ignored everywhere, on top of any .memignore (gitignore syntax).
DEFAULT_IGNORES = [
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    "__pycache__/",
    ".venv/",
    ".obsidian/",
    ".trash/",
    ".Trash/",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "*.tmp",
    "*.temp",
    "*.part",
    "*.crdownload",
    "*.download",
    ".~lock.*",
    ".memignore",
]
IGNORE_FILE = ".memignore"


@dataclass
class IngestSummary:
    """What an ingest run did, file by file."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    moved: int = 0
    memories_added: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        """Add one file's outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``mem ingest --json``."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "removed": self.removed,
            "moved": self.moved,
            "memories_added": self.memories_added,
            "errors": self.errors,
        }


class IgnoreRules:
    """Default ignores plus every ``.memignore`` found on the way down, relative to its folder."""

    def __init__(self) -> None:
        import pathspec

        self._pathspec = pathspec
        self._default = pathspec.PathSpec.from_lines("gitignore", DEFAULT_IGNORES)
        self._specs: dict[Path, Any] = {}

    def _spec_for(self, directory: Path) -> Any:
        if directory not in self._specs:
            file = directory / IGNORE_FILE
            spec = None
            if file.is_file():
                try:
                    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = self._pathspec.PathSpec.from_lines("gitignore", lines)
                except OSError:
                    spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, root: Path) -> bool:
        """True when ``path`` (under ``root``) is ignored by the defaults or a .memignore."""
        try:
            relative = path.relative_to(root)
        except ValueError:
            relative = Path(path.name)
        suffix = "/" if path.is_dir() else ""
        if self._default.match_file(str(relative) + suffix):
            return True
        # Each .memignore from the root down to the file's folder applies to paths below it.
        directory = root
        parts = relative.parts
        for depth in range(len(parts)):
            spec = self._spec_for(directory)
            if spec is not None:
                below = "/".join(parts[depth:]) + suffix
                if spec.match_file(below):
                    return True
            directory = directory / parts[depth]
        return False

    def forget_cache(self) -> None:
        """Re-read .memignore files next time (one of them changed)."""
        self._specs.clear()


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


class Ingestor:
    """Ingests files into one data home."""

    def __init__(self, app: Secondme) -> None:
        self.app = app
        self.store = app.store
        self.conn = app.store.conn
        self.settings = app.settings.ingest
        self.ignore = IgnoreRules()
        self._sources: list[Source] | None = None
        self.created = 0  # memories the last file added (not counting ones already known)

    # -- finding files ----------------------------------------------------------------------

    def walk(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
        """(file, root) for every file under ``paths`` that is not ignored, in a stable order."""
        for given in paths:
            root = given.expanduser().resolve()
            if root.is_file():
                yield root, root.parent
                continue
            if not root.is_dir():
                continue
            for directory, dirs, files in os.walk(root):
                here = Path(directory)
                dirs[:] = sorted(d for d in dirs if not self.ignore.ignored(here / d, root))
                for name in sorted(files):
                    file = here / name
                    if not self.ignore.ignored(file, root) and not file.is_symlink():
                        yield file, root

    def sources(self, kind: str = "auto") -> list[Source]:
        """The sources that may read a file of this kind."""
        if self._sources is None:
            from secondme.ingest.sources import builtin_sources

            self._sources = builtin_sources()
            from secondme.plugins import manager

            extra: list[Source] = []
            manager().hook.register_sources(register=extra.append)
            self._sources = extra + self._sources
        if kind == "auto":
            return self._sources
        return [s for s in self._sources if s.name == kind]

    # -- the sources table ------------------------------------------------------------------

    def source_row(self, path: Path) -> dict[str, Any] | None:
        """The recorded state of a file, if it was seen before."""
        cursor = self.conn.execute("SELECT * FROM sources WHERE path = ?", (str(path),))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def _save_source(self, path: Path, **values: Any) -> None:
        stamp = timeparse.iso(timeparse.now())
        existing = self.source_row(path)
        if existing is None:
            values.setdefault("memory_ids", "[]")
            columns = ["path", "first_seen", *values]
            self.conn.execute(
                f"INSERT INTO sources ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [str(path), stamp, *values.values()],
            )
        else:
            assignments = ", ".join(f"{k} = ?" for k in values)
            self.conn.execute(
                f"UPDATE sources SET {assignments} WHERE path = ?", [*values.values(), str(path)]
            )

    def record_error(self, path: Path, reason: str, **source: Any) -> None:
        """Remember that a file failed (shown by `mem status`) and mark its source row."""
        with self.store.transaction():
            self.conn.execute(
                "INSERT INTO ingest_errors (path, reason, at) VALUES (?, ?, ?)",
                (str(path), reason, timeparse.iso(timeparse.now())),
            )
            self._save_source(path, status="error", error=reason, **source)

    # -- one file ---------------------------------------------------------------------------

    def ingest_file(
        self,
        path: Path,
        kind: str = "auto",
        summary: IngestSummary | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> str:
        """Ingest one file; returns added, updated, unchanged, moved, skipped or errors.

        ``on_done`` runs inside the file's transaction (the watcher deletes its queue entry
        there, so that a crash can neither lose nor repeat the file).
        """
        summary = summary if summary is not None else IngestSummary()
        path = path.expanduser().absolute()
        try:
            stat = path.stat()
        except OSError as exc:
            return self._fail(path, f"cannot read: {exc.strerror or exc}", summary, on_done)
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        if stat.st_size > limit:
            return self._fail(
                path,
                f"larger than ingest.max_file_mb ({stat.st_size // 1048576} MB)",
                summary,
                on_done,
                status="skipped",
            )
        existing = self.source_row(path)
        if (
            existing
            and existing["status"] == "ok"
            and existing["size"] == stat.st_size
            and existing["mtime"] == stat.st_mtime
        ):
            return self._finish("unchanged", summary, on_done)
        try:
            digest = file_hash(path)
        except OSError as exc:
            return self._fail(path, f"cannot read: {exc.strerror or exc}", summary, on_done)
        if existing and existing["content_hash"] == digest and existing["status"] == "ok":
            with self.store.transaction():
                self._save_source(path, size=stat.st_size, mtime=stat.st_mtime)
                if on_done:
                    on_done()
            summary.unchanged += 1
            return "unchanged"
        if existing is None and self._adopt_moved(path, digest, stat, on_done):
            summary.moved += 1
            return "moved"
        from secondme.ingest.sources import detect_source
        from secondme.ingest.sources.base import ParseError

        source = detect_source(path, self.sources(kind))
        if source is None:
            return self._fail(path, "not a format secondme can read", summary, on_done, status="skipped")
        try:
            result = source.parse(path)
        except ParseError as exc:
            return self._fail(path, str(exc), summary, on_done)
        except Exception as exc:  # a parser bug must not stop the other files
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return self._fail(path, f"{source.name} parser failed: {detail}", summary, on_done)
        if not result.drafts:
            reason = "no content to remember"
            if result.problems:
                reason += f" ({result.problems[0].where}: {result.problems[0].reason})"
            return self._fail(path, reason, summary, on_done, status="skipped")
        outcome = "updated" if existing and existing["status"] in ("ok", "gone") else "added"
        with self.store.transaction():
            kept, added = self._store_drafts(path, result.drafts, existing)
            self._save_source(
                path,
                kind=source.name,
                format=result.format,
                size=stat.st_size,
                mtime=stat.st_mtime,
                content_hash=digest,
                status="ok",
                error=None,
                memory_ids=json.dumps(kept + added),
                problems=len(result.problems),
                last_ingested=timeparse.iso(timeparse.now()),
            )
            for problem in result.problems:
                self.conn.execute(
                    "INSERT INTO ingest_errors (path, reason, at) VALUES (?, ?, ?)",
                    (
                        str(path),
                        f"{problem.where}: {problem.reason} (skipped, rest of file kept)",
                        timeparse.iso(timeparse.now()),
                    ),
                )
            if on_done:
                on_done()
        summary.memories_added += self.created
        summary.count(outcome)
        return outcome

    def _store_drafts(
        self, path: Path, drafts: list[NewMemory], existing: dict[str, Any] | None
    ) -> tuple[list[int], list[int]]:
        """Keep unchanged memories, add new ones, supersede the ones the file no longer has."""
        old_ids = json.loads(existing["memory_ids"]) if existing else []
        old = [m for m in self.store.get_many(old_ids).values() if m.superseded_by is None]
        by_hash: dict[tuple[str, str], Memory] = {(m.content_hash, m.type.value): m for m in old}
        kept: list[int] = []
        fresh: list[NewMemory] = []
        for draft in drafts:
            draft.validate()
            match = by_hash.pop((content_hash(draft.text), draft.type.value), None)
            if match is not None:
                kept.append(match.id)
            else:
                fresh.append(draft)
        stored = self.store.add_many(fresh, dedupe=True)
        self.created = sum(1 for _, created in stored if created)
        added = [m.id for m, _ in stored]
        # A memory that stood in this file before and is gone now is replaced by the new text
        # that took its place (in order), else by any memory the new version of the file holds.
        replacements = added + kept
        removed = [m for m in old if (m.content_hash, m.type.value) in by_hash]
        for index, memory in enumerate(removed):
            if replacements:
                self.store.mark_superseded(memory.id, replacements[min(index, len(replacements) - 1)])
        if existing and existing["status"] == "gone":
            self.store.set_source_status(kept, None)
        return kept, [i for i in added if i not in kept]

    def _adopt_moved(
        self, path: Path, digest: str, stat: os.stat_result, on_done: Callable[[], None] | None
    ) -> bool:
        """A new path with the content of a file that is no longer where it was: a move."""
        rows = self.conn.execute(
            "SELECT path FROM sources WHERE content_hash = ? AND status IN ('ok', 'gone')", (digest,)
        ).fetchall()
        for (old_path,) in rows:
            if not Path(old_path).exists():
                self.move(Path(old_path), path, on_done=on_done, stat=stat)
                return True
        return False

    def move(
        self,
        old: Path,
        new: Path,
        on_done: Callable[[], None] | None = None,
        stat: os.stat_result | None = None,
    ) -> bool:
        """A file moved: its source row and its memories' provenance follow it."""
        row = self.source_row(old)
        if row is None:
            return False
        with self.store.transaction():
            ids = json.loads(row["memory_ids"])
            self.conn.execute("DELETE FROM sources WHERE path = ?", (str(new),))
            self.conn.execute(
                "UPDATE sources SET path = ?, status = 'ok' WHERE path = ?", (str(new), str(old))
            )
            if stat is not None:
                self._save_source(new, size=stat.st_size, mtime=stat.st_mtime)
            self.store.relocate(ids, str(old), str(new))
            if row["status"] == "gone":
                self.store.set_source_status(ids, None)
            if on_done:
                on_done()
        return True

    def remove(self, path: Path, on_done: Callable[[], None] | None = None) -> list[int]:
        """A file was deleted: keep its memories marked source-gone, or forget them."""
        row = self.source_row(path)
        if row is None:
            if on_done:
                with self.store.transaction():
                    on_done()
            return []
        ids = json.loads(row["memory_ids"])
        forget = self.settings.on_delete == "forget"
        with self.store.transaction():
            if forget:
                self.conn.execute("DELETE FROM sources WHERE path = ?", (str(path),))
            else:
                self.conn.execute("UPDATE sources SET status = 'gone' WHERE path = ?", (str(path),))
                self.store.set_source_status(ids, "gone")
            if on_done:
                on_done()
        if forget:
            # A memory another file also holds (the same chat window in two exports) stays.
            shared: set[int] = set()
            for (other,) in self.conn.execute("SELECT memory_ids FROM sources"):
                shared.update(json.loads(other))
            self.app.forget([i for i in ids if i not in shared])
        return ids

    def _fail(
        self,
        path: Path,
        reason: str,
        summary: IngestSummary,
        on_done: Callable[[], None] | None,
        status: str = "error",
    ) -> str:
        with self.store.transaction():
            self.record_error(path, reason)
            if status != "error":
                self.conn.execute("UPDATE sources SET status = ? WHERE path = ?", (status, str(path)))
            if on_done:
                on_done()
        summary.errors.append({"path": str(path), "reason": reason})
        outcome = "skipped" if status == "skipped" else "errors"
        if outcome == "skipped":
            summary.skipped += 1
        return outcome

    @staticmethod
    def _finish(outcome: str, summary: IngestSummary, on_done: Callable[[], None] | None) -> str:
        if on_done:
            on_done()
        summary.count(outcome)
        return outcome

    # -- many files -------------------------------------------------------------------------

    def ingest_paths(
        self,
        paths: Iterable[Path],
        kind: str = "auto",
        progress: Callable[[Path, str], None] | None = None,
        summary: IngestSummary | None = None,
    ) -> IngestSummary:
        """Ingest files and folders (recursively), then bring the vector index up to date."""
        summary = summary or IngestSummary()
        pending = 0
        for file, _root in self.walk(paths):
            outcome = self.ingest_file(file, kind, summary)
            if progress:
                progress(file, outcome)
            if outcome in ("added", "updated"):
                pending += 1
            if pending >= self.settings.batch_files:
                self.app.sync_vectors()
                pending = 0
        self.app.sync_vectors()
        return summary

    def forget_missing(self, roots: Iterable[Path]) -> int:
        """Files recorded under ``roots`` that no longer exist are handled as deleted."""
        count = 0
        for root in roots:
            prefix = str(root.expanduser().resolve())
            rows = self.conn.execute(
                "SELECT path FROM sources WHERE status != 'gone' AND (path = ? OR path LIKE ?)",
                (prefix, prefix.rstrip("/") + "/%"),
            ).fetchall()
            for (path,) in rows:
                if not Path(path).exists():
                    self.remove(Path(path))
                    count += 1
        return count


def errors(app: Secondme, limit: int = 20) -> list[dict[str, str]]:
    """The most recent ingest errors, newest first."""
    rows = app.store.conn.execute(
        "SELECT path, reason, at FROM ingest_errors ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [{"path": p, "reason": r, "at": a} for p, r, a in rows]
