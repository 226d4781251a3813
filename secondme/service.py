"""The application: one data home's store, vector index and models, behind one object.

Every face (CLI, TUI, MCP, ingestion) goes through :class:`Secondme`, so that SQLite stays the
truth and Chroma always follows it.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from secondme import config, paths
from secondme.memory import Memory, MemoryType, NewMemory
from secondme.store.db import connect
from secondme.store.memories import Filters, MemoryStore, when_timestamp

if TYPE_CHECKING:
    import numpy as np

    from secondme.answer import Answer
    from secondme.models.embedder import Embedder
    from secondme.retrieve import Hit

# How many pending vectors a search brings up to date before answering (more: a warning).
SEARCH_SYNC_LIMIT = 200


@dataclass
class DoctorReport:
    """What ``mem doctor`` found, and what it repaired."""

    memories: int = 0
    vectors: int = 0
    missing: list[int] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    repaired: bool = False

    @property
    def healthy(self) -> bool:
        """True when the index agrees with the database."""
        return not (self.missing or self.orphans or self.stale)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "memories": self.memories,
            "vectors": self.vectors,
            "missing": self.missing,
            "orphans": self.orphans,
            "stale": self.stale,
            "healthy": self.healthy,
            "repaired": self.repaired,
        }


class Secondme:
    """A data home opened for use."""

    def __init__(self, settings: config.Settings | None = None, embedder: Embedder | None = None) -> None:
        """Open the current home; pass ``embedder`` to share one loaded model between homes."""
        self.settings = settings or config.load()
        self.db_path = paths.db_path()
        self.store = MemoryStore(connect(self.db_path), self.db_path)
        self.chroma_dir = paths.chroma_dir()
        self._embedder: Embedder | None = embedder

    # -- models -----------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use."""
        if self._embedder is None:
            from secondme.models.embedder import load_embedder

            self._embedder = load_embedder(self.settings.embedder)
        return self._embedder

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts."""
        return self.embedder.embed(texts)

    # -- writing ----------------------------------------------------------------------------

    def add(self, new: NewMemory, dedupe: bool = True) -> tuple[Memory, bool]:
        """Store a memory and index it; returns (memory, created)."""
        return self.add_many([new], dedupe=dedupe)[0]

    def add_many(self, items: Sequence[NewMemory], dedupe: bool = True) -> list[tuple[Memory, bool]]:
        """Store memories in one transaction, then bring the vector index up to date."""
        results = self.store.add_many(items, dedupe=dedupe)
        self.sync_vectors()
        from secondme.plugins import manager

        hook = manager().hook
        for memory, created in results:
            if created:
                hook.memory_added(memory=memory)
        return results

    def edit(self, memory_id: int, **fields: Any) -> Memory:
        """Change a memory (history kept) and re-index it."""
        memory = self.store.update(memory_id, **fields)
        self.sync_vectors()
        return memory

    def supersede(self, old_id: int, new: NewMemory) -> Memory:
        """Replace a memory by a new one; the old one stays, marked as superseded."""
        memory = self.store.supersede(old_id, new)
        self.sync_vectors()
        return memory

    def set_core(self, label: str, value: str) -> Memory:
        """Set a core memory (the previous value is superseded, not lost)."""
        memory = self.store.set_core(label, value)
        self.sync_vectors()
        return memory

    def forget(self, ids: Sequence[int]) -> list[int]:
        """Remove memories from SQLite (and FTS, by trigger), history and Chroma."""
        removed = self.store.forget(ids)
        if removed:
            from secondme.store.vectors import open_index

            with open_index(self.chroma_dir) as index:
                index.delete(removed)
            self.store.drop_indexed(removed)
            from secondme.plugins import manager

            for memory_id in removed:
                manager().hook.memory_forgotten(memory_id=memory_id)
        return removed

    # -- reading ----------------------------------------------------------------------------

    def get(self, memory_id: int) -> Memory:
        """One memory (:class:`~secondme.errors.NotFoundError` when there is none)."""
        return self.store.get(memory_id)

    def history(self, memory_id: int) -> builtins.list[dict[str, Any]]:
        """The earlier versions of a memory, oldest first."""
        return self.store.history(memory_id)

    def list(
        self,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        include_superseded: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """Memories newest first (vault captions included, as in ``mem list``)."""
        filters = Filters(
            types=tuple(types),
            since=since,
            until=until,
            include_superseded=include_superseded,
            include_vault=True,
        )
        return self.store.listing(filters, limit=limit, offset=offset)

    def core(self) -> builtins.list[Memory]:
        """The current core memories."""
        return self.store.core()

    def ask(
        self,
        question: str,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        on_hits: Callable[[builtins.list[Hit]], None] | None = None,
        search_mode: str = "hybrid",
    ) -> Answer:
        """Answer a question from the memories (see :func:`secondme.answer.ask`)."""
        from secondme.answer import ask

        return ask(self, question, k=k, on_token=on_token, search_mode=search_mode, on_hits=on_hits)

    # -- the vector index -------------------------------------------------------------------

    def _metadata(self, memory: Memory) -> dict[str, Any]:
        return {
            "type": memory.type.value,
            "current": memory.superseded_by is None,
            "when_ts": when_timestamp(memory),
            "hash": memory.content_hash,
        }

    def sync_vectors(self, limit: int | None = None) -> int:
        """Embed what the index lacks and drop what it should not hold; returns vectors written."""
        from secondme.store.vectors import open_index

        written = 0
        if not self.store.has_pending_vectors():
            return 0
        with open_index(self.chroma_dir) as index:
            orphans = self.store.orphan_vectors()
            if orphans:
                index.delete(orphans)
                self.store.drop_indexed(orphans)
            while limit is None or written < limit:
                batch = self.store.pending_vectors(limit=256)
                if not batch:
                    break
                self._index(index, batch)
                written += len(batch)
            self.store.clear_clean_dirty()
        return written

    def _index(self, index: Any, batch: builtins.list[Memory]) -> None:
        vectors = self.embed([self.embedding_text(m) for m in batch])
        index.upsert([m.id for m in batch], vectors, [self._metadata(m) for m in batch])
        self.store.mark_indexed(batch, self.embedder.name)

    @staticmethod
    def embedding_text(memory: Memory) -> str:
        """What gets embedded for a memory: its text, with the title or label as context."""
        head = memory.title or memory.label or memory.subject
        return f"{head}: {memory.text}" if head and head not in memory.text else memory.text

    def pending_count(self) -> int:
        """How many memories wait for a vector (counted up to SEARCH_SYNC_LIMIT + 1)."""
        if not self.store.has_pending_vectors():
            return 0
        return len(self.store.pending_vectors(limit=SEARCH_SYNC_LIMIT + 1))

    def vector_search(self, query: str, n: int, filters: Filters) -> builtins.list[tuple[int, float]]:
        """Nearest memories to the query text as (id, distance)."""
        from secondme.retrieve import chroma_where
        from secondme.store.vectors import open_index

        pending = self.pending_count()
        if pending and pending <= SEARCH_SYNC_LIMIT:
            self.sync_vectors()
        elif pending:
            print(
                f"warning: more than {SEARCH_SYNC_LIMIT} memories are not in the vector index yet; "
                "run `mem doctor --repair` (or `mem reindex`)",
                file=sys.stderr,
            )
        if not self.chroma_dir.exists() and not self.store.vector_candidates(limit=1):
            return []  # a new home: nothing to look for yet
        vector = self.embed([query])[0]
        where = chroma_where(filters)
        with open_index(self.chroma_dir, write=False, create=False) as index:
            if where is not None:
                return index.query(vector, n, where)
            # Metadata filters make Chroma scan; the common case (current memories of any type)
            # over-fetches instead and drops superseded ones here.
            found = index.query(vector, n + n // 2 + 10)
        if filters.include_superseded:
            return found[:n]
        current = self.store.current_ids([i for i, _ in found])
        return [(i, d) for i, d in found if i in current][:n]

    def search(
        self,
        query: str,
        k: int | None = None,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        mode: str = "hybrid",
        include_superseded: bool | None = None,
    ) -> builtins.list[Hit]:
        """Hybrid search (see :mod:`secondme.retrieve`)."""
        from secondme.retrieve import search

        filters = Filters(
            types=tuple(types),
            since=since,
            until=until,
            include_superseded=self.settings.search.include_superseded
            if include_superseded is None
            else include_superseded,
        )
        return search(self, query, k or self.settings.search.k, filters, mode=mode)

    def reindex(self) -> int:
        """Rebuild the vector index from SQLite; returns how many vectors were written."""
        from secondme.store.vectors import remove_index

        remove_index(self.chroma_dir)
        self.store.unmark_indexed(None)
        return self.sync_vectors()

    def doctor(self, repair: bool = False) -> DoctorReport:
        """Compare the index with the database: missing, orphan and stale vectors."""
        from secondme.store.vectors import open_index

        report = DoctorReport()
        expected: dict[int, str] = {}
        after = 0
        while True:
            batch = self.store.vector_candidates(after_id=after, limit=5000)
            if not batch:
                break
            for memory in batch:
                expected[memory.id] = memory.content_hash
            after = batch[-1].id
        report.memories = self.store.count()
        with open_index(self.chroma_dir, write=repair) as index:
            present = index.all_ids()
            report.vectors = len(present)
            report.missing = sorted(set(expected) - set(present))
            report.orphans = sorted(set(present) - set(expected))
            report.stale = sorted(
                i for i, meta in present.items() if i in expected and meta.get("hash") != expected[i]
            )
            if repair and not report.healthy:
                index.delete(report.orphans)
                self.store.unmark_indexed([*report.orphans, *report.missing, *report.stale])
                report.repaired = True
        if report.repaired:
            self.sync_vectors()
        return report
