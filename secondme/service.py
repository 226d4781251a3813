"""The application: one data home's store, vector index and models, behind one object.

Every face (CLI, TUI, MCP, ingestion) goes through :class:`Secondme`, so that SQLite stays the
truth and Chroma always follows it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from secondme import config, paths
from secondme.memory import Memory, MemoryType, NewMemory
from secondme.store.db import connect
from secondme.store.memories import Filters, MemoryStore, when_timestamp

if TYPE_CHECKING:
    import numpy as np

    from secondme.models.embedder import Embedder
    from secondme.retrieve import Hit
    from secondme.vault import Vault

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
        self._vault: Vault | None = None
        paths.secure_tree(self.db_path.parent)

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
        """Store memories in one transaction, then bring the vector index up to date.

        Secrets in the text move to the vault first (see :meth:`protect`).
        """
        with self.store.transaction():
            results = self.store.add_many([self.protect(new) for new in items], dedupe=dedupe)
            for memory, created in results:
                if created and memory.type is MemoryType.VAULT and memory.label:
                    self.vault.store.set_memory(memory.label, memory.id)
        self.sync_vectors()
        from secondme.plugins import manager

        hook = manager().hook
        for memory, created in results:
            if created:
                hook.memory_added(memory=memory)
        return results

    def edit(self, memory_id: int, **fields: Any) -> Memory:
        """Change a memory (history kept) and re-index it; secrets in a new text go to the vault."""
        with self.store.transaction():
            current = self.store.get(memory_id)
            kind = MemoryType.parse(fields.get("type", current.type))
            if "text" in fields or kind is not current.type:
                draft = NewMemory(text=str(fields.get("text", current.text)), type=kind, label=current.label)
                protected = self.protect(draft)
                if "text" in fields or protected.text != current.text:
                    fields["text"] = protected.text
                if kind is MemoryType.VAULT and protected.label:
                    fields.setdefault("label", protected.label)
                    self.vault.store.set_memory(protected.label, memory_id)
            memory = self.store.update(memory_id, **fields)
            moved_to_vault = kind is MemoryType.VAULT and current.type is not MemoryType.VAULT
            if moved_to_vault:
                # Its earlier versions hold the text now in the vault: they must not stay behind.
                self.store.drop_history(memory_id)
        if moved_to_vault:
            self.store.purge_freed()
        self.sync_vectors()
        return memory

    def supersede(self, old_id: int, new: NewMemory) -> Memory:
        """Replace a memory by a new one; the old one stays, marked as superseded."""
        with self.store.transaction():
            memory = self.store.supersede(old_id, self.protect(new))
        self.sync_vectors()
        return memory

    def set_core(self, label: str, value: str) -> Memory:
        """Set a core memory (the previous value is superseded, not lost); secrets go to the vault."""
        with self.store.transaction():
            memory = self.store.set_core(label, self.scrub(value))
        self.sync_vectors()
        return memory

    def forget(self, ids: Sequence[int], reason: str = "by id") -> list[int]:
        """Remove memories for good: rows, history, earlier versions, FTS segments, the WAL and vectors.

        Only a tombstone (id, time, ``reason``) stays.  ``reason`` must not quote the memory.
        """
        wanted = self.store.with_earlier_versions(ids)
        vault_labels = [
            m.label for m in self.store.get_many(wanted).values() if m.type is MemoryType.VAULT and m.label
        ]
        removed = self.store.forget(wanted, reason=reason)
        if removed:
            from secondme.store.vectors import compact_index, open_index

            with self.store.transaction():
                for label in vault_labels:
                    self.vault.store.delete_entry(label)
            if self.chroma_dir.exists():
                with open_index(self.chroma_dir) as index:
                    index.delete(removed)
                # Chroma keeps deleted vectors in its log and index files: rewrite them without.
                compact_index(self.chroma_dir)
            self.store.drop_indexed(removed)
            self.store.purge_freed()
            paths.secure_tree(self.db_path.parent)
            from secondme.plugins import manager
            from secondme.vault import audit

            audit("forget", ids=removed, reason=reason)
            for memory_id in removed:
                manager().hook.memory_forgotten(memory_id=memory_id)
        return removed

    # -- the vault --------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        """The encrypted vault of this home."""
        if self._vault is None:
            from secondme.store.vault import VaultStore
            from secondme.vault import Vault

            self._vault = Vault(VaultStore(self.store.conn), self.store.transaction)
        return self._vault

    def scrub(self, text: str) -> str:
        """``text`` with every secret found moved to the vault and replaced by ``[vault:LABEL]``."""
        from secondme.secrets import scrub

        clean, _ = scrub(text, lambda f: self.vault.keep(f.value, f.hint, f.kind))
        return clean

    def protect(self, new: NewMemory) -> NewMemory:
        """A draft safe to store: secrets in its fields moved to the vault.

        A vault-type draft keeps no secret at all: the secrets found in it are stored, and when
        none is recognised the whole text is the secret; the memory keeps the placeholders only.
        """
        from secondme.secrets import find_secrets, scrub
        from secondme.vault import labels_in, placeholder

        new.type = MemoryType.parse(new.type)
        if new.type is MemoryType.VAULT:
            if labels_in(new.text) and not find_secrets(new.text):
                return new  # already a placeholder (an edit, a re-import)
            clean, found = scrub(new.text, lambda f: self.vault.keep(f.value, f.hint, f.kind))
            if not found:
                label = self.vault.keep(new.text.strip(), new.label or "secret", "manual")
                clean = placeholder(label)
            new.text = clean
            new.label = new.label if new.label and new.label in labels_in(clean) else labels_in(clean)[0]
            return new
        new.text = self.scrub(new.text)
        for name in ("title", "subject", "event", "actor"):
            value = getattr(new, name)
            if value:
                setattr(new, name, self.scrub(value))
        return new

    def plaintext_vault(self) -> list[int]:
        """Vault memories whose text is not encrypted yet (stored by a version before the vault)."""
        from secondme.vault import labels_in

        return [i for i, text, _ in self.store.vault_rows() if not labels_in(text)]

    def seal_plaintext_vault(self) -> list[int]:
        """Move the text of :meth:`plaintext_vault` memories into the vault, leaving no trace."""
        sealed: list[int] = []
        with self.store.transaction():
            for memory_id, text, label in self.store.vault_rows():
                draft = self.protect(NewMemory(text=text, type=MemoryType.VAULT, label=label))
                if draft.text != text:
                    self.store.seal_text(memory_id, draft.text, draft.label)
                    self.vault.store.set_memory(draft.label or "", memory_id)
                    sealed.append(memory_id)
        if sealed:
            self.store.purge_freed()
        return sealed

    def vault_add(self, label: str, value: str, caption: str | None = None) -> Memory:
        """Store a secret under ``label`` and a vault memory that shows its caption."""
        from secondme.vault import placeholder

        with self.store.transaction():
            entry = self.vault.add(label, value, caption=caption)
            text = placeholder(entry.label) + (f" {self.scrub(caption)}" if caption else "")
            memory, _ = self.store.add(
                NewMemory(text=text, type=MemoryType.VAULT, label=entry.label, source_kind="vault"),
                dedupe=False,
            )
            self.vault.store.set_memory(entry.label, memory.id)
        return memory

    def vault_remove(self, label: str) -> list[int]:
        """Delete a vault entry and forget its vault memory; returns the memory ids forgotten."""
        entry = self.vault.entry(label)
        self.vault.remove(label)
        ids = [entry.memory_id] if entry.memory_id else []
        return self.forget(ids, reason="vault entry removed") if ids else []

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

    def _index(self, index: Any, batch: list[Memory]) -> None:
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

    def vector_search(self, query: str, n: int, filters: Filters) -> list[tuple[int, float]]:
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
    ) -> list[Hit]:
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
