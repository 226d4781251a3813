"""Turning files into memories, idempotently: unchanged files do no work, changed files supersede
their old memories, deleted files mark theirs as source-gone, moved files keep theirs.

Every file is ingested in one SQLite transaction (its memories, its ``sources`` row and, for the
watcher, its queue entry), so a crash at any point leaves either all of it or none of it.
"""

from __future__ import annotations

import errno
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
    "*.kate-swp",
    "*___jb_tmp___",
    "*___jb_old___",
    ".goutputstream-*",
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
    """Files not taken, and why: one entry per file, on every run."""
    warnings: list[dict[str, str]] = field(default_factory=list)
    """Files taken, with something the person should know (a fallback encoding, lines not read)."""

    @property
    def taken(self) -> int:
        """Files whose content is in the store after this run."""
        return self.added + self.updated + self.unchanged + self.moved

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
            "warnings": self.warnings,
        }


class IgnoreRules:
    """Default ignores plus every ``.memignore`` found on the way down, relative to its folder."""

    def __init__(self) -> None:
        import pathspec

        from secondme import paths

        self._pathspec = pathspec
        self._default = pathspec.PathSpec.from_lines("gitignore", DEFAULT_IGNORES)
        self._specs: dict[Path, Any] = {}
        # secondme's own data home, should it lie inside a watched folder: ingesting the
        # database would write to it, which the watcher would see as a change, and so on.
        self._home = paths.home().resolve()

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
        if path == self._home or self._home in path.parents:
            return True
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
        self.sources_table = app.sources
        self.settings = app.settings.ingest
        self.ignore = IgnoreRules()
        self._sources: list[Source] | None = None
        self.created = 0  # memories the last file added (not counting ones already known)

    # -- finding files ----------------------------------------------------------------------

    def walk(
        self, paths: Iterable[Path], on_skip: Callable[[Path, str], None] | None = None
    ) -> Iterator[tuple[Path, Path]]:
        """(file, root) for every file under ``paths`` that is not ignored, in a stable order.

        A file named explicitly is always taken; ignore rules apply to what folders hold.
        Symbolic links inside folders are not followed (a link could pull in files from anywhere,
        or loop); they and folders that cannot be listed go to ``on_skip(path, reason)``.
        """
        for given in paths:
            root = given.expanduser().resolve()
            if root.is_file():
                yield root, root.parent
                continue
            if not root.is_dir():
                continue

            def unlistable(error: OSError) -> None:
                if on_skip is not None and error.filename:
                    on_skip(Path(error.filename), f"cannot list the folder: {error.strerror or error}")

            for directory, dirs, files in os.walk(root, onerror=unlistable):
                here = Path(directory)
                kept = []
                for name in sorted(dirs):
                    if self.ignore.ignored(here / name, root):
                        continue
                    if (here / name).is_symlink():
                        if on_skip is not None:
                            on_skip(here / name, _link_reason(here / name))
                        continue
                    kept.append(name)
                dirs[:] = kept
                for name in sorted(files):
                    file = here / name
                    if self.ignore.ignored(file, root):
                        continue
                    if file.is_symlink():
                        if on_skip is not None:
                            on_skip(file, _link_reason(file))
                        continue
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
        return self.sources_table.row(path)

    def rows_under(self, folder: Path) -> list[dict[str, Any]]:
        """The recorded files inside ``folder`` (at any depth)."""
        return self.sources_table.rows_under(folder)

    def _save_source(self, path: Path, **values: Any) -> None:
        self.sources_table.save(path, timeparse.iso(timeparse.now()), **values)

    def _log_error(self, path: Path, reason: str) -> None:
        self.sources_table.log_error(path, reason, timeparse.iso(timeparse.now()))

    def record_error(self, path: Path, reason: str, **source: Any) -> None:
        """Remember that a file failed (shown by `mem status`) and mark its source row.

        The file's memories from earlier, good versions are left as they are.
        """
        with self.app.transaction():
            self._log_error(path, reason)
            self._save_source(path, status=source.pop("status", "error"), error=reason, **source)

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
            return self._fail(path, _cannot_read(exc), summary, on_done)
        if not path.is_file():
            return self._fail(path, "not a regular file", summary, on_done, status="skipped")
        seen: dict[str, Any] = {"size": stat.st_size, "mtime": stat.st_mtime}
        existing = self.source_row(path)
        same_stat = (
            existing is not None and existing["size"] == stat.st_size and existing["mtime"] == stat.st_mtime
        )
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        if (
            same_stat
            and existing is not None
            and (existing["status"] == "ok" or (existing["status"] == "skipped" and existing["kind"] == kind))
        ):
            # Unchanged since last time, or a file already left alone for the same kind of
            # reading (no text in it, a format nobody reads): no work at all, but what was
            # not taken, or taken with a warning, is told again on every run.
            if existing["status"] == "skipped":
                summary.errors.append({"path": str(path), "reason": existing["error"] or "skipped"})
                return self._finish("skipped", summary, on_done)
            for reason in json.loads(existing.get("warnings") or "[]"):
                summary.warnings.append({"path": str(path), "reason": reason})
            return self._finish("unchanged", summary, on_done)
        if stat.st_size > limit:
            return self._fail(
                path,
                f"too large: {_human_size(stat.st_size)}, over ingest.max_file_mb = "
                f"{self.settings.max_file_mb:g}",
                summary,
                on_done,
                status="too_large",
                **seen,
            )
        try:
            digest = file_hash(path)
        except OSError as exc:
            return self._fail(path, _cannot_read(exc), summary, on_done)
        if existing and existing["content_hash"] == digest and existing["status"] == "ok":
            # Touched (mtime) but not changed.
            with self.app.transaction():
                self._save_source(path, **seen)
                if on_done:
                    on_done()
            for reason in json.loads(existing.get("warnings") or "[]"):
                summary.warnings.append({"path": str(path), "reason": reason})
            summary.unchanged += 1
            return "unchanged"
        if existing is None and self._adopt_moved(path, digest, stat, on_done):
            summary.moved += 1
            return "moved"
        from secondme.ingest.sources import detect_source
        from secondme.ingest.sources.base import ParseError

        source = detect_source(path, self.sources(kind))
        if source is None:
            return self._fail(
                path, _unreadable_kind(path, kind), summary, on_done, status="skipped", kind=kind, **seen
            )
        try:
            result = source.parse(path)
        except ParseError as exc:
            return self._fail(path, str(exc), summary, on_done, **seen)
        except Exception as exc:  # a parser bug must not stop the other files
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return self._fail(path, f"{source.name} parser failed: {detail}", summary, on_done, **seen)
        if not result.drafts:
            reason = "no content to remember"
            if result.problems:
                reason += f" ({result.problems[0].where}: {result.problems[0].reason})"
            return self._fail(path, reason, summary, on_done, status="skipped", kind=kind, **seen)
        had_memories = bool(existing and json.loads(existing["memory_ids"]))
        outcome = "updated" if had_memories else "added"
        warnings = [f"{p.where}: {p.reason} (rest of the file kept)" for p in result.problems]
        with self.app.transaction():
            ids = self._store_drafts(path, result.drafts, existing)
            self._save_source(
                path,
                kind=source.name,
                format=result.format,
                content_hash=digest,
                status="ok",
                error=None,
                memory_ids=json.dumps(ids),
                problems=len(result.problems),
                warnings=json.dumps(warnings),
                last_ingested=timeparse.iso(timeparse.now()),
                **seen,
            )
            for warning in warnings:
                self._log_error(path, warning)
            if on_done:
                on_done()
        summary.warnings.extend({"path": str(path), "reason": w} for w in warnings)
        summary.memories_added += self.created
        summary.count(outcome)
        return outcome

    def _store_drafts(
        self, path: Path, drafts: list[NewMemory], existing: dict[str, Any] | None
    ) -> list[int]:
        """Keep unchanged memories, add new ones, supersede the ones the file no longer has.

        Returns the file's memory ids, in file order.
        """
        # Secrets go to the vault and long chunks become several memories, as the core does for
        # every text; then each part is matched against what the file held before.
        for draft in drafts:
            draft.validate()
        drafts = [part for draft in drafts for part in self.app.drafts_for(draft)]
        old_ids = json.loads(existing["memory_ids"]) if existing else []
        old = [m for m in self.app.get_many(old_ids).values() if m.superseded_by is None]
        by_hash: dict[tuple[str, str], Memory] = {(m.content_hash, m.type.value): m for m in old}
        slots: list[int | NewMemory] = []
        fresh: list[NewMemory] = []
        for draft in drafts:
            match = by_hash.pop((content_hash(draft.text), draft.type.value), None)
            if match is not None:
                slots.append(match.id)
                self._refresh_provenance(match, draft, path)
            else:
                slots.append(draft)
                fresh.append(draft)
        stored = iter(self.app.add_many(fresh, dedupe=True, prepared=True))
        self.created = 0
        ids: list[int] = []
        added: list[int] = []
        for slot in slots:
            if isinstance(slot, int):
                memory_id = slot
            else:
                memory, created = next(stored)
                memory_id = memory.id
                self.created += int(created)
                added.append(memory_id)
            if memory_id not in ids:  # two identical windows in one export are one memory
                ids.append(memory_id)
        # A memory that stood in this file before and is gone now is replaced by the new text
        # that took its place (in order), else by any memory the new version of the file holds.
        # One that another file still holds is not this file's to replace.
        removed = [m for m in old if (m.content_hash, m.type.value) in by_hash]
        still_held = self.sources_table.held_elsewhere([m.id for m in removed], path)
        replacements = added or ids
        for index, memory in enumerate(m for m in removed if m.id not in still_held):
            self.app.mark_superseded(memory.id, replacements[min(index, len(replacements) - 1)])
        if existing and existing["status"] == "gone":
            self.app.set_source_status(ids, None)
        return ids

    def _refresh_provenance(self, memory: Memory, draft: NewMemory, path: Path) -> None:
        """An unchanged chunk that moved inside its file (lines added above it) points to its new place."""
        if (
            draft.source_ref
            and memory.source_ref != draft.source_ref
            and (memory.source_ref or "").startswith(str(path))
        ):
            self.app.edit(memory.id, change="provenance", source_ref=draft.source_ref)

    def _adopt_moved(
        self, path: Path, digest: str, stat: os.stat_result, on_done: Callable[[], None] | None
    ) -> bool:
        """A new path with the content of a file that is no longer where it was: a move."""
        for old_path in self.sources_table.paths_with_hash(digest):
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
        """A file moved: its source row and its memories' provenance follow it.

        When the move replaced a file that was ingested (``mv a.md b.md`` over an existing
        ``b.md``), the replaced file's memories are superseded by the moved ones, like any change.
        """
        row = self.source_row(old)
        if row is None:
            return False
        with self.app.transaction():
            ids = json.loads(row["memory_ids"])
            replaced = self.source_row(new)
            self.sources_table.delete(new)
            if replaced is not None and ids:
                lost = [i for i in json.loads(replaced["memory_ids"]) if i not in ids]
                still_held = self.sources_table.held_elsewhere(lost, new)
                for memory in self.app.get_many([i for i in lost if i not in still_held]).values():
                    if memory.superseded_by is None:
                        self.app.mark_superseded(memory.id, ids[0])
            self.sources_table.rename(old, new)
            if stat is not None:
                self._save_source(new, size=stat.st_size, mtime=stat.st_mtime)
            self.app.relocate(ids, str(old), str(new))
            if row["status"] == "gone":
                self.app.set_source_status(ids, None)
            if on_done:
                on_done()
        return True

    def remove(self, path: Path, on_done: Callable[[], None] | None = None) -> list[int]:
        """A file was deleted: keep its memories marked source-gone, or forget them.

        Memories another present file also holds are left alone either way.
        """
        row = self.source_row(path)
        if row is None:
            if on_done:
                with self.app.transaction():
                    on_done()
            return []
        ids = json.loads(row["memory_ids"])
        forget = self.settings.on_delete == "forget"
        with self.app.transaction():
            still_held = self.sources_table.held_elsewhere(ids, path)
            if forget:
                self.sources_table.delete(path)
            else:
                self.sources_table.mark_gone(path)
                self.app.set_source_status([i for i in ids if i not in still_held], "gone")
            if on_done:
                on_done()
        if forget:
            # Also spared: memories a file marked gone still lists (they are kept on purpose).
            still_held.update(self.sources_table.all_memory_ids())
            self.app.forget([i for i in ids if i not in still_held])
        return ids

    def _fail(
        self,
        path: Path,
        reason: str,
        summary: IngestSummary,
        on_done: Callable[[], None] | None,
        status: str = "error",
        **seen: Any,
    ) -> str:
        # ``seen`` (size, mtime) is recorded when the content itself is the problem, so that the
        # watcher does not try the same bytes again on every start; a file that could not be
        # read at all is tried again.
        with self.app.transaction():
            self.record_error(path, reason, status=status, **seen)
            if on_done:
                on_done()
        summary.errors.append({"path": str(path), "reason": reason})
        if status == "error":
            return "errors"
        summary.skipped += 1
        return "skipped"

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
        on_vectors: Callable[[int], None] | None = None,
    ) -> IngestSummary:
        """Ingest files and folders (recursively), then bring the vector index up to date.

        Files recorded inside the given folders that no longer exist are handled as deleted
        (after the walk, so that a file that only moved is recognised as moved first).
        ``on_vectors`` is told how many vectors were written, batch by batch.
        """
        summary = summary if summary is not None else IngestSummary()
        paths = list(paths)
        pending_files = pending_memories = 0

        def left_out(path: Path, reason: str) -> None:
            status = "error" if reason.startswith("cannot") else "skipped"
            self._fail(path, reason, summary, None, status=status)

        for file, _root in self.walk(paths, on_skip=left_out):
            outcome = self.ingest_file(file, kind, summary)
            if progress:
                progress(file, outcome)
            if outcome in ("added", "updated"):
                pending_files += 1
                pending_memories += self.created
            # Embed in full batches (the embedder is fastest on many texts at once), but do not
            # let a long run leave thousands of memories unsearchable by meaning if stopped.
            if pending_files >= self.settings.batch_files or pending_memories >= VECTOR_BATCH:
                self._sync(on_vectors)
                pending_files = pending_memories = 0
        folders = [p.expanduser().resolve() for p in paths if p.expanduser().is_dir()]
        summary.removed += self.forget_missing(folders)
        self._sync(on_vectors)
        return summary

    def _sync(self, on_vectors: Callable[[int], None] | None) -> None:
        if on_vectors is None:
            self.app.sync_vectors()
            return
        on_vectors(0)
        while written := self.app.sync_vectors(limit=VECTOR_BATCH):
            on_vectors(written)

    def forget_missing(self, roots: Iterable[Path]) -> int:
        """Files recorded under ``roots`` that no longer exist are handled as deleted."""
        count = 0
        for root in roots:
            root = root.expanduser().resolve()
            rows = self.rows_under(root)
            exact = self.source_row(root)
            for row in [*rows, *([exact] if exact else [])]:
                gone = not Path(row["path"]).exists() and not Path(row["path"]).is_symlink()
                if row["status"] != "gone" and gone:
                    self.remove(Path(row["path"]))
                    count += 1
        return count


# Memories embedded per vector-index batch (the size sync_vectors works in).
VECTOR_BATCH = 256


def _human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _link_reason(path: Path) -> str:
    """Why a symbolic link found in a folder was not taken."""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "a symbolic link loop (links inside folders are not followed)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (links inside folders are not followed)"
        return "a broken symbolic link (links inside folders are not followed)"
    return "a symbolic link (links inside folders are not followed; name the target to ingest it)"


def _cannot_read(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc}"


def _unreadable_kind(path: Path, kind: str) -> str:
    from secondme.ingest.sources.base import read_head
    from secondme.ingest.sources.detect import sniff

    looks = sniff(read_head(path))
    what = "an empty file" if looks == "empty" else f"looks like {looks}"
    if kind != "auto":
        return f"not a {kind} file secondme can read ({what})"
    return f"not a format secondme can read ({what})"


def errors(app: Secondme, limit: int = 20) -> list[dict[str, str]]:
    """The most recent ingest errors, newest first."""
    return app.ingest_errors(limit)
