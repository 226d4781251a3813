"""The application: one data home's store, vector index and models, behind one object.

Every face (CLI, TUI, MCP, ingestion) goes through :class:`Secondme`, so that SQLite stays the
truth and Chroma always follows it.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from secondme import config, paths
from secondme.memory import Memory, MemoryType, NewMemory
from secondme.store.db import connect
from secondme.store.memories import Filters, MemoryStore, when_timestamp
from secondme.store.sources import SourceStore

if TYPE_CHECKING:
    import numpy as np

    from secondme.answer import Answer
    from secondme.models.embedder import Embedder
    from secondme.retrieve import Hit
    from secondme.timeparse import QuestionTime
    from secondme.transfer import ImportReport
    from secondme.vault import Vault

# How many pending vectors a search brings up to date before answering (more: a warning).
SEARCH_SYNC_LIMIT = 200
# The meta key recording where the vectors marked as indexed were written.
VECTOR_LOCATION_KEY = "vector.location"

_F = TypeVar("_F", bound=Callable[..., Any])


def _serialised(method: _F) -> _F:
    """Run a core method under the core's lock.

    Faces call the core from several threads (TUI workers, the daemon's request handlers). The
    SQLite connection is shared, and the vector index must not be opened and closed under a
    second thread, so each call holds the lock; generating an answer does not, which is why a
    search or an add never waits behind a model writing.
    """

    @functools.wraps(method)
    def locked(self: Secondme, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


@dataclass
class DoctorReport:
    """What ``mem doctor`` found, and what it repaired."""

    memories: int = 0
    vectors: int = 0
    missing: list[int] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    repaired: bool = False
    index: str = ""
    # Stored and marked as waiting for a vector (a write answered before its vector, a server
    # that was down): not a fault, the next search or write, or the daemon, indexes them.
    waiting: list[int] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when the index agrees with the database (memories waiting for a vector aside)."""
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
            "index": self.index,
            "waiting": self.waiting,
        }


def _server_token(url: str) -> str | None:
    """The Chroma server's token, kept in the OS keyring (``keyring set secondme chroma:URL``)."""
    try:
        import keyring

        return keyring.get_password("secondme", f"chroma:{url}")
    except Exception:  # no keyring backend here: a server without a token still works
        return None


class Secondme:
    """A data home opened for use: the one door every face reads and writes memories through.

    ``store`` and ``sources`` are the core's own tables; faces call the methods below instead.
    """

    def __init__(
        self,
        settings: config.Settings | None = None,
        embedder: Embedder | None = None,
        home: Path | str | None = None,
        index_later: Callable[[], None] | None = None,
    ) -> None:
        """Open ``home`` (default: ``$SECONDME_HOME`` or the platform's data dir).

        Pass ``embedder`` to share one loaded model between homes.  ``index_later``: writes are
        answered once SQLite has committed them, and this is called instead of writing their
        vectors (the daemon indexes on its own thread).  The memories stay marked as waiting for
        a vector until then, and any search brings the index up to date before it looks, so
        nothing is ever missed; only the writer no longer waits for the embedder.
        """
        self.home = paths.home(Path(home) if home is not None else None)
        self.settings = settings or config.load(paths.config_path(self.home))
        self.db_path = paths.db_path(self.home)
        self.store = MemoryStore(connect(self.db_path), self.db_path)
        self.sources = SourceStore(self.store.conn)
        self.chroma_dir = paths.chroma_dir(self.home)
        self.vectors = self._vector_location()
        self._embedder: Embedder | None = embedder
        self._index_later = index_later
        # Memories added inside an open transaction: announced to plugins once it commits.
        self._unannounced: list[Memory] = []
        self._lock = threading.RLock()
        self._warned: set[str] = set()
        self._vault: Vault | None = None
        paths.secure_tree(self.home, once=True)

    def _vector_location(self) -> Any:
        """The index's place: the home's Chroma directory, or the server named by ``vector.url``."""
        url = self.settings.vector.url.strip()
        if not url:
            return self.chroma_dir
        from secondme.store.vectors import Server

        return Server(url, token=_server_token(url), collection=self.settings.vector.collection)

    @property
    def remote_vectors(self) -> bool:
        """Whether the vector index is on a Chroma server."""
        return self.vectors != self.chroma_dir

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            print(f"warning: {message}", file=sys.stderr)

    def reader(self) -> Secondme:
        """A second handle on the same home with its own connection.

        For reads that must not wait behind this handle's writes (paging through a long list
        while an import runs, say): SQLite in WAL mode lets it read while anyone writes.
        """
        return Secondme(self.settings, embedder=self._embedder, home=self.home, index_later=self._index_later)

    def close(self) -> None:
        """Close the database connection."""
        self.store.conn.close()

    # -- transactions and events ------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction around several core calls (an ingested file, say).

        Plugins hear of the memories added inside it only once it has committed; a rolled back
        transaction announces nothing.
        """
        with self._lock:
            outer = not self.store.conn.in_transaction
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                if outer:
                    self._unannounced.clear()
                raise
            if outer:
                self._announce()

    def _announce(self) -> None:
        added, self._unannounced = self._unannounced, []
        if not added:
            return
        from secondme.plugins import manager

        hook = manager().hook
        for memory in added:
            hook.memory_added(memory=memory)

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

    @_serialised
    def add_many(
        self, items: Sequence[NewMemory], dedupe: bool = True, prepared: bool = False
    ) -> list[tuple[Memory, bool]]:
        """Store memories in one transaction, then bring the vector index up to date.

        Inside :meth:`transaction`, the vectors and the ``memory_added`` events wait for the
        caller (an ingest writes vectors in batches, after its files are committed).

        One result per item: a text too long for one memory is stored in parts (see
        :meth:`split`) and stands here as its first part; :meth:`add_parts` gives them all.
        """
        return [parts[0] for parts in self.add_parts(items, dedupe=dedupe, prepared=prepared)]

    @_serialised
    def add_parts(
        self, items: Sequence[NewMemory], dedupe: bool = True, prepared: bool = False
    ) -> list[list[tuple[Memory, bool]]]:
        """Like :meth:`add_many`, with every part of each item: ``[[(memory, created), ...], ...]``.

        ``prepared``: the items already went through :meth:`drafts_for` (ingest does that to
        match a file's parts against what it stored before), so they are not scrubbed or cut again.
        """
        nested = self.store.conn.in_transaction
        with self.store.transaction():
            groups = [[item] if prepared else self.drafts_for(item) for item in items]
            results = self.store.add_many([part for group in groups for part in group], dedupe=dedupe)
            for memory, created in results:
                if created and memory.type is MemoryType.VAULT and memory.label:
                    self.vault.store.set_memory(memory.label, memory.id)
            self._unannounced.extend(memory for memory, created in results if created)
        if not nested:
            self._index_writes()
            self._announce()
        out: list[list[tuple[Memory, bool]]] = []
        position = 0
        for group in groups:
            out.append(results[position : position + len(group)])
            position += len(group)
        return out

    def drafts_for(self, new: NewMemory) -> list[NewMemory]:
        """What ``new`` is stored as: secrets moved to the vault first, then cut to fit."""
        return self.split(self.protect(new))

    def split(self, new: NewMemory) -> list[NewMemory]:
        """``new`` as memories that each fit the embedder and the answer prompt.

        The one place long texts are cut (``mem add``, stdin, ``mem import`` and ingest all come
        here): between paragraphs, else lines, sentences, words.  Parts keep every field and
        carry ``metadata`` ``part`` (from 1), ``parts`` and ``part_of`` (shared by the parts).
        A core memory goes into every prompt whole, so one that does not fit is refused.
        """
        from secondme.memory import content_hash
        from secondme.textsplit import split_text, visible_length

        kind = MemoryType.parse(new.type)
        if kind is MemoryType.VAULT:
            return [new]  # a caption, never embedded nor quoted
        max_chars = max(1, self.settings.answer.max_memory_chars)
        head = new.title or new.label or new.subject
        text = new.text
        # Fits for sure: no tokenizer needed (a word piece is at least one visible character).
        sure = sum(not c.isspace() for c in f"{head or ''}: {text}") + 2
        if visible_length(text) <= max_chars and sure <= self.settings.embedder.max_tokens:
            return [new]
        count = self.count_tokens
        budget = self.settings.embedder.max_tokens - 2 - (count(f"{head}:") if head else 0)
        pieces = split_text(text, max(1, budget), max_chars, count)
        if len(pieces) <= 1:
            return [new]
        if kind is MemoryType.CORE:
            from secondme.errors import InputError

            raise InputError(
                f"a core memory must fit in one memory ({max_chars} characters, "
                f"{self.settings.embedder.max_tokens} tokens); this one needs {len(pieces)}",
                hint="shorten it, or store the long text with another --type",
            )
        key = content_hash(text)[:16]
        parts = []
        for number, piece in enumerate(pieces, start=1):
            metadata = {**new.metadata, "part": number, "parts": len(pieces), "part_of": key}
            parts.append(replace(new, text=piece, metadata=metadata, tags=list(new.tags)))
        return parts

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of ``text`` for the embedder (an estimate when it has no tokenizer)."""
        counter = getattr(self.embedder, "count_tokens", None)
        if callable(counter):
            return int(counter(text))
        from secondme.textsplit import estimate_tokens

        return estimate_tokens(text)

    @_serialised
    def edit(self, memory_id: int, change: str = "edit", **fields: Any) -> Memory:
        """Change a memory (history kept, ``change`` names why) and re-index it.

        Secrets in a new text go to the vault.
        """
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
            memory = self.store.update(memory_id, change=change, **fields)
            moved_to_vault = kind is MemoryType.VAULT and current.type is not MemoryType.VAULT
            if moved_to_vault:
                # Its earlier versions hold the text now in the vault: they must not stay behind.
                self.store.drop_history(memory_id)
        if moved_to_vault:
            self.store.purge_freed()
        if not self.store.conn.in_transaction:
            self._index_writes()
        return memory

    @_serialised
    def supersede(self, old_id: int, new: NewMemory) -> Memory:
        """Replace a memory by a new one; the old one stays, marked as superseded."""
        with self.store.transaction():
            memory = self.store.supersede(old_id, self.protect(new))
        self._index_writes()
        return memory

    @_serialised
    def set_core(self, label: str, value: str) -> Memory:
        """Set a core memory (the previous value is superseded, not lost); secrets go to the vault."""
        value = self.scrub(value)
        self.split(NewMemory(text=value, type=MemoryType.CORE, label=label))  # refuses a long one
        with self.store.transaction():
            memory = self.store.set_core(label, value)
        self._index_writes()
        return memory

    @_serialised
    def mark_superseded(self, old_id: int, new_id: int) -> None:
        """Mark a memory as replaced by another one that is already stored."""
        self.store.mark_superseded(old_id, new_id)

    @_serialised
    def relocate(self, ids: Sequence[int], old_path: str, new_path: str) -> None:
        """Memories whose source file moved point to its new path."""
        self.store.relocate(ids, old_path, new_path)

    @_serialised
    def set_source_status(self, ids: Sequence[int], status: str | None) -> None:
        """Mark memories whose file is gone (``"gone"``), or present again (``None``)."""
        self.store.set_source_status(ids, status)

    @_serialised
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
            if self.remote_vectors:
                from secondme.errors import StoreError

                try:
                    with open_index(self.vectors) as index:
                        index.delete(removed)
                    self.store.drop_indexed(removed)
                except StoreError as error:
                    # The rows are gone; their vectors stay listed as orphans until it is back.
                    self._warn(f"{error.message}; `mem doctor --repair` removes the vectors later")
            else:
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

    # -- reading ----------------------------------------------------------------------------

    @_serialised
    def get(self, memory_id: int) -> Memory:
        """One memory (NotFoundError when there is none)."""
        return self.store.get(memory_id)

    @_serialised
    def get_many(self, ids: Sequence[int]) -> dict[int, Memory]:
        """The memories that exist among ``ids``, by id."""
        return self.store.get_many(ids)

    @_serialised
    def history(self, memory_id: int) -> list[dict[str, Any]]:
        """Earlier versions of a memory, oldest first."""
        return self.store.history(memory_id)

    @_serialised
    def listing(
        self, filters: Filters | None = None, limit: int = 50, offset: int = 0, newest_first: bool = True
    ) -> list[Memory]:
        """Memories, newest first (or oldest first)."""
        return self.store.listing(filters or Filters(), limit=limit, offset=offset, newest_first=newest_first)

    @_serialised
    def count(self, filters: Filters | None = None) -> int:
        """How many memories match ``filters``."""
        return self.store.count(filters)

    @_serialised
    def counts_by_type(self, include_superseded: bool = False) -> dict[str, int]:
        """How many memories of each type."""
        return self.store.counts_by_type(include_superseded=include_superseded)

    @_serialised
    def core(self) -> list[Memory]:
        """The core memories: who the user is (they go into every prompt)."""
        return self.store.core()

    @_serialised
    def touch(self, ids: Sequence[int]) -> None:
        """Note that memories were used (in an answer): their access count and time go up."""
        self.store.touch(ids)

    @_serialised
    def predecessors(self, memory_id: int) -> list[Memory]:
        """The memories this one superseded, oldest first."""
        return self.store.predecessors(memory_id)

    @_serialised
    def max_id(self) -> int:
        """The highest memory id so far."""
        return self.store.max_id()

    def filters(
        self,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        include_superseded: bool | None = None,
    ) -> Filters:
        """Filters with this home's default for superseded memories."""
        return Filters(
            types=tuple(types),
            since=since,
            until=until,
            include_superseded=self.settings.search.include_superseded
            if include_superseded is None
            else include_superseded,
        )

    # -- choosing what to forget ------------------------------------------------------------

    @_serialised
    def ids_from_source(self, source: str) -> list[int]:
        """Every memory from a file or folder (a deleted file's recorded path still matches)."""
        # Sources are recorded by absolute path; a file already deleted still resolves to it.
        wanted = str(Path(source).expanduser().resolve())
        return self.store.ids_from_source(wanted) or self.store.ids_from_source(source)

    @_serialised
    def ids_matching(self, query: str) -> list[int]:
        """Every memory (superseded and vault ones too) holding these words."""
        hits = self.store.keyword_search(query, Filters(include_superseded=True, include_vault=True), 10_000)
        return sorted(i for i, _ in hits)

    @_serialised
    def ids_between(self, since: str | None, until: str | None) -> list[int]:
        """Every memory whose time falls between ``since`` and ``until``."""
        return self.store.ids_between(since, until)

    @_serialised
    def drop_sources(self, source: str) -> None:
        """Forget the records of the files under ``source`` (after their memories were forgotten)."""
        self.store.drop_sources(str(Path(source).expanduser().resolve()))

    # -- settings kept in the database ------------------------------------------------------

    @_serialised
    def get_meta(self, key: str) -> str | None:
        """A value kept in the database's meta table (the watcher's pause flag, for example)."""
        return self.store.get_meta(key)

    @_serialised
    def set_meta(self, key: str, value: str) -> None:
        """Keep a value in the database's meta table."""
        self.store.set_meta(key, value)

    # -- ingest bookkeeping -----------------------------------------------------------------

    @_serialised
    def ingest_errors(self, limit: int = 20) -> list[dict[str, str]]:
        """The most recent ingest errors, newest first."""
        return self.sources.recent_errors(limit)

    @_serialised
    def status(self) -> dict[str, Any]:
        """Counts for `mem status` and the TUI: memories, files, queue, errors, vectors waiting."""
        return {
            "home": str(self.home),
            "memories": self.counts_by_type(),
            "sources": self.sources.counts_by_status(),
            "last_ingest": self.sources.last_ingested(),
            "queue": self.sources.queue_depth(),
            "watched": [{"path": w["path"], "kind": w.get("kind", "auto")} for w in self.settings.watch],
            "error_count": self.sources.error_count(),
            "errors": self.ingest_errors(),
            "pending_vectors": self.pending_count(),
        }

    @_serialised
    def list(
        self,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        include_superseded: bool = False,
        limit: int = 20,
        offset: int = 0,
        include_vault: bool = True,
    ) -> builtins.list[Memory]:
        """Memories newest first (vault captions included unless ``include_vault`` is false)."""
        filters = Filters(
            types=tuple(types),
            since=since,
            until=until,
            include_superseded=include_superseded,
            include_vault=include_vault,
        )
        return self.store.listing(filters, limit=limit, offset=offset)

    # -- answering --------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        llm: Any = None,
        mode: str = "hybrid",
        today: datetime | None = None,
        on_hits: Callable[[builtins.list[Hit]], None] | None = None,
        thorough: bool = False,
    ) -> Answer:
        """Answer ``question`` from memories with citations (see :mod:`secondme.answer`).

        Not serialised: retrieval takes the core's lock, the model's writing does not.
        """
        from secondme.answer import ask
        from secondme.plugins import manager

        result = ask(
            self,
            question,
            k=k,
            on_token=on_token,
            llm=llm,
            search_mode=mode,
            today=today,
            on_hits=on_hits,
            thorough=thorough,
        )
        manager().hook.answer_given(question=result.question, answer=result)
        return result

    # -- the vault --------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        """The encrypted vault of this home."""
        if self._vault is None:
            from secondme.store.vault import VaultStore
            from secondme.vault import Vault

            self._vault = Vault(VaultStore(self.store.conn), self.store.transaction)
        return self._vault

    def vault_without_prompt(self) -> Vault:
        """This home's vault on its own, whose passphrase can only come from the environment."""
        from secondme.store.vault import VaultStore
        from secondme.vault import Vault, env_passphrase

        return Vault(VaultStore(self.store.conn), self.store.transaction, passphrase=env_passphrase)

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

    def plaintext_vault(self) -> builtins.list[int]:
        """Vault memories whose text is not encrypted yet (stored by a version before the vault)."""
        from secondme.vault import labels_in

        return [i for i, text, _ in self.store.vault_rows() if not labels_in(text)]

    def seal_plaintext_vault(self) -> builtins.list[int]:
        """Move the text of :meth:`plaintext_vault` memories into the vault, leaving no trace."""
        sealed: builtins.list[int] = []
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

    def vault_remove(self, label: str) -> builtins.list[int]:
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

    def _follow_location(self) -> None:
        """After ``vector.url`` changed, every memory waits for a vector in the new place."""
        here = str(self.vectors)
        recorded = self.store.get_meta(VECTOR_LOCATION_KEY)
        if recorded == here:
            return
        if recorded is not None:
            self.store.unmark_indexed(None)
        self.store.set_meta(VECTOR_LOCATION_KEY, here)

    def _index_writes(self) -> None:
        """After a committed write: its vectors now, or by whoever took ``index_later``."""
        if self._index_later is not None:
            self._index_later()
        else:
            self.sync_vectors()

    @_serialised
    def sync_vectors(self, limit: int | None = None) -> int:
        """Embed what the index lacks and drop what it should not hold; returns vectors written.

        With the index on a server that cannot be reached, the memories stay stored and marked
        as waiting (a warning says so); the next sync, or `mem doctor --repair`, catches up.
        """
        from secondme.errors import StoreError

        self._follow_location()
        if not self.store.has_pending_vectors():
            return 0
        try:
            return self._sync(limit)
        except StoreError as error:
            if not self.remote_vectors:
                raise
            self._warn(f"{error.message}; the memories are stored and will be indexed later")
            return 0

    def _sync(self, limit: int | None) -> int:
        from secondme.store.vectors import open_index

        written = 0
        with open_index(self.vectors) as index:
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

    @_serialised
    def warm_up(self) -> None:
        """Load the embedder and open the index once, so that the first search is quick."""
        from secondme.store.vectors import exists, open_index

        self.embed(["warm up"])
        if exists(self.vectors):
            with open_index(self.vectors, write=False, create=False) as index:
                index.count()

    @staticmethod
    def embedding_text(memory: Memory) -> str:
        """What gets embedded for a memory: its text, with the title or label as context."""
        head = memory.title or memory.label or memory.subject
        return f"{head}: {memory.text}" if head and head not in memory.text else memory.text

    @_serialised
    def pending_count(self) -> int:
        """How many memories wait for a vector (counted up to SEARCH_SYNC_LIMIT + 1)."""
        if not self.store.has_pending_vectors():
            return 0
        return len(self.store.pending_vectors(limit=SEARCH_SYNC_LIMIT + 1))

    @_serialised
    def vector_search(self, query: str, n: int, filters: Filters) -> builtins.list[tuple[int, float]]:
        """Nearest memories to the query text as (id, distance)."""
        from secondme.errors import StoreError
        from secondme.retrieve import chroma_where
        from secondme.store.vectors import exists, open_index

        self._follow_location()
        pending = self.pending_count()
        if pending and pending <= SEARCH_SYNC_LIMIT:
            self.sync_vectors()
        elif pending:
            self._warn(
                f"more than {SEARCH_SYNC_LIMIT} memories are not in the vector index yet; "
                "run `mem doctor --repair` (or `mem reindex`)"
            )
        if not exists(self.vectors) and not self.store.vector_candidates(limit=1):
            return []  # a new home: nothing to look for yet
        vector = self.embed([query])[0]
        where = chroma_where(filters)
        try:
            with open_index(self.vectors, write=False, create=False) as index:
                if where is not None:
                    return index.query(vector, n, where)
                # Metadata filters make Chroma scan; the common case (current memories of any
                # type) over-fetches instead and drops superseded ones here.
                found = index.query(vector, n + n // 2 + 10)
        except StoreError as error:
            if not self.remote_vectors:
                raise
            # A server that is down costs the search its meaning-based half, not its answer.
            self._warn(f"{error.message}; searching by keywords only")
            return []
        if filters.include_superseded:
            return found[:n]
        current = self.store.current_ids([i for i, _ in found])
        return [(i, d) for i, d in found if i in current][:n]

    @_serialised
    def search(
        self,
        query: str,
        k: int | None = None,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        mode: str = "hybrid",
        include_superseded: bool | None = None,
        when: QuestionTime | None = None,
    ) -> builtins.list[Hit]:
        """Hybrid search (see :mod:`secondme.retrieve`); ``when`` raises memories of a period."""
        from secondme.retrieve import search

        filters = self.filters(types, since, until, include_superseded)
        return search(
            query,
            k or self.settings.search.k,
            filters,
            store=self.store,
            vector_search=self.vector_search,
            settings=self.settings.search,
            mode=mode,
            when=when,
        )

    @_serialised
    def reindex(self) -> int:
        """Rebuild the vector index from SQLite; returns how many vectors were written."""
        from secondme.store.vectors import remove_index

        self._follow_location()
        remove_index(self.vectors)
        self.store.unmark_indexed(None)
        return self._sync(None)

    @_serialised
    def doctor(self, repair: bool = False) -> DoctorReport:
        """Compare the index with the database: missing, orphan and stale vectors."""
        from secondme.store.vectors import open_index

        report = DoctorReport(index=str(self.vectors))
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
        self._follow_location()
        with open_index(self.vectors, write=repair) as index:
            waiting = set(self.store.pending_vector_ids())
            present = index.all_ids()
            report.vectors = len(present)
            report.waiting = sorted(waiting & set(expected))
            report.missing = sorted(set(expected) - set(present) - waiting)
            report.orphans = sorted(set(present) - set(expected))
            report.stale = sorted(
                i
                for i, meta in present.items()
                if i in expected and i not in waiting and meta.get("hash") != expected[i]
            )
            if repair and not report.healthy:
                index.delete(report.orphans)
                self.store.unmark_indexed([*report.orphans, *report.missing, *report.stale])
                report.repaired = True
        if repair and (report.repaired or report.waiting):
            self.sync_vectors()
            report.repaired = True
        return report

    # -- reading, asking, export and import (the faces: CLI, MCP, daemon) -------------------

    @_serialised
    def recent(
        self,
        limit: int = 20,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        include_vault: bool = False,
    ) -> builtins.list[Memory]:
        """The newest current memories (by event time, else recorded time), for MCP clients."""
        return self.list(types, since, until, limit=limit, include_vault=include_vault)

    @_serialised
    def export(self, path: Path, format: str = "jsonl", include_vault: bool = False) -> None:
        """Write every memory, its history and the tombstones to ``path`` (see :mod:`secondme.transfer`)."""
        from secondme.errors import InputError
        from secondme.transfer import Export, exporters

        found = exporters()
        if format not in found:
            raise InputError(f"unknown export format {format!r}", hint=f"use one of {', '.join(found)}")
        found[format](Export(self, include_vault=include_vault), path)

    @_serialised
    def restore(self, path: Path, merge: bool = False) -> ImportReport:
        """Import a file written by ``export(format="jsonl")``: all of it or, on an error, nothing."""
        from secondme.plugins import manager
        from secondme.transfer import read_jsonl, restore

        report = restore(self, read_jsonl(path), merge=merge)
        hook = manager().hook
        for memory in self.store.get_many(report.added_ids).values():
            hook.memory_added(memory=memory)
        return report
