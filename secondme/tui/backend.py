"""What the TUI asks of secondme, in plain Python (no Textual here), safe to call from workers.

The TUI never touches the database from the UI thread: every call below runs in a worker thread,
through the core (:class:`secondme.service.Secondme`), which serialises its own calls. Paging
through the list uses a second core handle (its own read connection): SQLite in WAL mode lets it
read while this process or another one (a watcher) writes, so scrolling never waits for a search.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from secondme.errors import InputError, NotFoundError, SecondmeError
from secondme.memory import Memory, MemoryType, NewMemory
from secondme.store.memories import Filters

if TYPE_CHECKING:
    from secondme.answer import Answer
    from secondme.retrieve import Hit
    from secondme.service import DoctorReport, Secondme

PAGE_SIZE = 100
"""Rows fetched per query when paging through the memory list."""

SEARCH_K = 50
"""How many search results the list shows."""

RELATED_K = 5
"""How many related memories the detail pane shows."""


@dataclass(frozen=True)
class Row:
    """One line of the memory list: just what the list draws."""

    id: int
    when: str
    type: MemoryType
    text: str
    source: str
    superseded: bool = False

    @classmethod
    def of(cls, memory: Memory) -> Row:
        """The row for a memory."""
        return cls(
            id=memory.id,
            when=memory.when or "",
            type=memory.type,
            text=" ".join(memory.text.split()),
            source=source_label(memory),
            superseded=memory.superseded_by is not None,
        )


def source_label(memory: Memory) -> str:
    """A short name for where a memory came from: the file name, else the kind of source."""
    ref = memory.path or memory.source_ref
    if ref:
        name = ref.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if name:
            return name
    return memory.source_kind


def provenance(memory: Memory) -> list[tuple[str, str]]:
    """Where a memory came from, as (label, value) pairs: source, file, position inside it."""
    pairs = [("source", memory.source_kind)]
    if memory.source_ref:
        where, _, anchor = memory.source_ref.partition("#")
        pairs.append(("file" if "/" in where or "." in where else "reference", where))
        if anchor:
            pairs.append(("at", _anchor(anchor)))
    if memory.path and memory.path != (memory.source_ref or "").partition("#")[0]:
        pairs.append(("path", memory.path))
    if memory.resource_kind:
        pairs.append(("kind", memory.resource_kind))
    if memory.source_status:
        pairs.append(("status", memory.source_status))
    return pairs


def _anchor(anchor: str) -> str:
    # Sources write line ranges as "L3..L5" and paragraphs as "p2": say them in words.
    if anchor.startswith("L"):
        start, _, end = anchor.partition("..")
        first, last = start[1:], end[1:] if end.startswith("L") else end
        return f"line {first}" if not last or last == first else f"lines {first}-{last}"
    if anchor.startswith("p") and anchor[1:].isdigit():
        return f"paragraph {anchor[1:]}"
    return anchor


def _vault_labels(memory: Memory) -> list[str]:
    from secondme.vault import labels_in

    if memory.type is not MemoryType.VAULT:
        return []
    return labels_in(memory.text) or ([memory.label] if memory.label else [])


def _vault() -> Any:
    # Its own core handle (its own connection): the reveal runs on the UI thread, never inside a
    # worker's transaction. The TUI owns the terminal, so a passphrase can only come from
    # SECONDME_VAULT_PASSPHRASE.
    from secondme.service import Secondme

    return Secondme().vault_without_prompt()


def vault_value_stored(memory: Memory) -> bool:
    """True when the vault holds a value for this vault memory (nothing is decrypted)."""
    labels = _vault_labels(memory)
    if not labels:
        return False
    vault = _vault()
    return any(vault.has(label) for label in labels)


def reveal_vault_value(memory: Memory) -> str | None:
    """The secret behind a vault memory, decrypted from the vault, or None when none is stored.

    Each reveal is written to the audit log (the label, never the value).  Raises a
    :class:`~secondme.errors.VaultError` when the key is out of reach or a ciphertext was changed.
    """
    labels = _vault_labels(memory)
    if not labels:
        return None
    vault = _vault()
    values: list[tuple[str, str]] = []
    for label in labels:
        try:
            values.append((label, vault.get(label, purpose="tui reveal")))
        except NotFoundError:
            continue
    if not values:
        return None
    if len(values) == 1:
        return values[0][1]
    return "\n".join(f"{label}: {value}" for label, value in values)


def core_label(memory: Memory) -> str:
    """The label a memory gets when pinned to core: its own, else its first words."""
    if memory.label:
        return memory.label
    words = [w.strip(".,:;!?\"'()").lower() for w in memory.text.split()[:3]]
    return "-".join(w for w in words if w) or f"memory-{memory.id}"


@dataclass
class Details:
    """Everything the detail pane shows about one memory, loaded off the UI thread."""

    memory: Memory
    history: list[dict[str, Any]] = field(default_factory=list)
    superseded_by: Memory | None = None
    supersedes: list[Memory] = field(default_factory=list)
    related: list[Hit] = field(default_factory=list)


@dataclass
class StatusReport:
    """What the status screen shows; None means "not available" for that part."""

    home: str
    database: str
    counts: dict[str, int]
    pending_vectors: int
    watch: list[dict[str, Any]]
    answer_model: dict[str, Any]
    embedder: dict[str, Any]
    ingest: dict[str, Any] | None
    mind: dict[str, Any] | None


class Cancelled(Exception):
    """Raised from a streaming callback to stop an answer nobody waits for any more."""


def ingest_status(app: Secondme) -> dict[str, Any] | None:
    """The watcher, its queue and recent ingest errors; None while no ingest module exists."""
    if importlib.util.find_spec("secondme.ingest.watcher") is None:
        return None
    if importlib.util.find_spec("secondme.ingest.pipeline") is None:
        return None
    from secondme.ingest import watcher

    state = watcher.daemon_status()
    depth = app.status()["queue"]
    running = f"running (pid {state['pid']})" if state.get("running") else "not running"
    if state.get("paused"):
        running += ", paused"
    return {
        "watcher": running,
        "queue": depth,
        "errors": [f"{e['at']}  {e['path']}: {e['reason']}" for e in app.ingest_errors(limit=10)],
    }


def mind_status(app: Secondme) -> dict[str, Any] | None:
    """The background mind's backlog, when a mind module provides ``backlog(app)``; else None."""
    try:
        if importlib.util.find_spec("secondme.mind") is None:
            return None
        module = importlib.import_module("secondme.mind")
    except ImportError:
        return None
    backlog = getattr(module, "backlog", None)
    if not callable(backlog):
        return None
    result = backlog(app)
    return dict(result) if isinstance(result, dict) else {"backlog": result}


def translate(error: BaseException) -> SecondmeError:
    """Any failure as a message for a person (the TUI shows it; it never crashes on it)."""
    if isinstance(error, SecondmeError):
        return error
    if isinstance(error, sqlite3.Error):
        from secondme import paths
        from secondme.store.db import describe

        return describe(error, paths.db_path())
    if isinstance(error, OSError):
        return SecondmeError(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
    return SecondmeError(f"{type(error).__name__}: {error}", hint="run with SECONDME_DEBUG=1 for details")


class Backend:
    """One data home as the TUI uses it (every method may block: call them from workers)."""

    def __init__(self, secondme: Secondme | None = None, llm: Any = None) -> None:
        # The home it opens itself is served by the daemon when one runs (searches, answers and
        # writes: warm models); reads and paging stay on SQLite, the truth either way.
        self.use_daemon = secondme is None
        if secondme is None:
            from secondme.service import Secondme

            secondme = Secondme()
        self.app = secondme
        self.llm = llm
        self._read_lock = threading.Lock()
        self._reader: Secondme | None = None
        self._model_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def _daemon(self) -> Any:
        """A client of the running daemon, one per call (workers run in parallel), or None."""
        if not self.use_daemon:
            return None
        from secondme.client import connect_or_none

        return connect_or_none()

    # -- reading (own connection) -----------------------------------------------------------

    @property
    def reader(self) -> Secondme:
        """A second core handle on the same home (its own connection), for paging and single reads."""
        if self._reader is None:
            self._reader = self.app.reader()
        return self._reader

    def page(self, filters: Filters, page: int, size: int = PAGE_SIZE, total: int | None = None) -> list[Row]:
        """Rows ``page * size`` to ``(page + 1) * size`` of the listing, newest first.

        With ``total`` known, a page in the older half is read from the other end (oldest first,
        then reversed): SQLite walks past every skipped row, so a small offset is what keeps the
        last page of 100,000 as quick as the first.
        """
        start = page * size
        with self._read_lock:
            if total is None or start < total // 2:
                memories = self.reader.listing(filters, limit=size, offset=start)
            else:
                end = min(total, start + size)
                memories = self.reader.listing(
                    filters, limit=end - start, offset=total - end, newest_first=False
                )[::-1]
        return [Row.of(m) for m in memories]

    def quick_search(
        self,
        query: str,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        k: int = SEARCH_K,
    ) -> list[Hit]:
        """Keyword-only search (FTS5 BM25) on the read connection: no model, no vector index.

        It answers in milliseconds while the hybrid search waits for typing to pause.
        """
        with self._read_lock:
            return self.reader.search(
                query, k=k, types=types, since=since, until=until, mode="keyword", include_superseded=False
            )

    def count(self, filters: Filters) -> int:
        """How many memories a listing holds."""
        with self._read_lock:
            return self.reader.count(filters)

    def counts(self) -> dict[str, int]:
        """Current memories per type."""
        with self._read_lock:
            return self.reader.counts_by_type()

    def memory(self, memory_id: int) -> Memory:
        """One memory (raises :class:`NotFoundError`)."""
        with self._read_lock:
            return self.reader.get(memory_id)

    def details(self, memory_id: int) -> Details:
        """A memory with its history and supersede links (fast: no search)."""
        with self._read_lock:
            memory = self.reader.get(memory_id)
            details = Details(memory, history=self.reader.history(memory_id))
            if memory.superseded_by is not None:
                try:
                    details.superseded_by = self.reader.get(memory.superseded_by)
                except NotFoundError:
                    pass
            details.supersedes = self.reader.predecessors(memory_id)
        return details

    def related(self, memory: Memory, k: int = RELATED_K) -> list[Hit]:
        """Memories close to this one (hybrid search on its text), itself left out."""
        if memory.type is MemoryType.VAULT:
            return []  # captions of secrets are not embedded; searching them finds noise
        daemon = self._daemon()
        if daemon is not None:
            with contextlib.closing(daemon):
                hits = daemon.search(memory.text, k=k + 1)
            return [h for h in hits if h.memory.id != memory.id][:k]
        hits = self.app.search(memory.text, k=k + 1)
        return [h for h in hits if h.memory.id != memory.id][:k]

    # -- searching and asking (the index lock) ----------------------------------------------

    def search(
        self,
        query: str,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        k: int = SEARCH_K,
    ) -> list[Hit]:
        """Hybrid search with type and time filters."""
        daemon = self._daemon()
        if daemon is not None:
            with contextlib.closing(daemon):
                return daemon.search(query, k=k, types=types, since=since, until=until)
        return self.app.search(query, k=k, types=types, since=since, until=until)

    def warm_up(self) -> None:
        """Load the embedder and open the index once, so the first keystroke search is quick."""
        daemon = self._daemon()
        if daemon is not None:  # the daemon's are warm already
            daemon.close()
            return
        self.app.warm_up()

    def load_llm(self) -> Any:
        """The answer model, loaded once (raises :class:`ModelError` with a hint when missing)."""
        with self._model_lock:
            if self.llm is None:
                from secondme.models.llm import load_llm

                self.llm = load_llm(self.app.settings.llm)
            return self.llm

    def ask(self, question: str, on_token: Callable[[str], None], thorough: bool = False) -> Answer:
        """A cited answer, streamed to ``on_token`` (the core is free for other calls meanwhile);
        ``thorough`` reads more of the memories (``answer.thorough_context_tokens``)."""
        daemon = self._daemon()
        if daemon is not None:
            # The daemon queues answers itself; ``on_token`` raising closes this connection,
            # which stops the answer there.
            with contextlib.closing(daemon):
                return daemon.ask(question, on_token=on_token, thorough=thorough)  # type: ignore[no-any-return]
        llm = self.load_llm()
        # One llama.cpp context cannot serve two threads: a newer question waits for (or, through
        # ``on_token`` raising, cuts short) the answer being written.
        with self._generate_lock:
            return self.app.ask(question, on_token=on_token, llm=llm, thorough=thorough)

    # -- writing ----------------------------------------------------------------------------

    def add(self, new: NewMemory) -> tuple[Memory, bool]:
        """Store a memory from the add form; returns (memory, created)."""
        daemon = self._daemon()
        if daemon is not None:
            with contextlib.closing(daemon):
                return daemon.add(new)  # type: ignore[no-any-return]
        return self.app.add(new)

    def edit(self, memory_id: int, **fields: Any) -> Memory:
        """Change a memory; the previous version goes to its history."""
        daemon = self._daemon()
        if daemon is not None:
            with contextlib.closing(daemon):
                return daemon.edit(memory_id, **fields)  # type: ignore[no-any-return]
        return self.app.edit(memory_id, **fields)

    def forget(self, memory_id: int) -> list[int]:
        """Remove a memory for good."""
        daemon = self._daemon()
        if daemon is not None:
            with contextlib.closing(daemon):
                return daemon.forget([memory_id])  # type: ignore[no-any-return]
        return self.app.forget([memory_id])

    def pin(self, memory_id: int) -> Memory:
        """Make a memory core (pinned into every answer prompt), keeping its history."""
        memory = self.app.get(memory_id)
        if memory.type is MemoryType.VAULT:
            raise InputError(
                "a vault memory cannot be pinned to core",
                hint="core memories go into every prompt; secrets never do",
            )
        if memory.type is MemoryType.CORE:
            return memory
        return self.app.edit(memory_id, type=MemoryType.CORE.value, label=core_label(memory))

    def change_type(self, memory_id: int, kind: MemoryType) -> Memory:
        """Give a memory another type (history kept); a core memory gets a label."""
        memory = self.app.get(memory_id)
        if memory.type is kind:
            return memory
        fields: dict[str, Any] = {"type": kind.value}
        if kind is MemoryType.CORE and not memory.label:
            fields["label"] = core_label(memory)
        return self.app.edit(memory_id, **fields)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> StatusReport:
        """Watched folders, models, counts and what ingest and mind report (fast parts only)."""
        from secondme.models import defaults

        settings = self.app.settings
        with self._read_lock:
            counts = self.reader.counts_by_type()
            pending = self.reader.pending_count()
        answer = _model_info(settings.llm.model, settings.llm.model_path, defaults.LLMS)
        embedder = _model_info(settings.embedder.model, settings.embedder.model_path, defaults.EMBEDDERS)
        return StatusReport(
            home=str(self.app.home),
            database=str(self.app.db_path),
            counts=counts,
            pending_vectors=pending,
            watch=list(settings.watch),
            answer_model=answer,
            embedder=embedder,
            ingest=ingest_status(self.app),
            mind=mind_status(self.app),
        )

    def doctor(self) -> DoctorReport:
        """Index health (reads every vector id: seconds on a large base)."""
        return self.app.doctor()


def _model_info(name: str, custom_path: str, table: dict[str, Any]) -> dict[str, Any]:
    from secondme.models import defaults

    if custom_path:
        return {"name": custom_path, "description": "your own model file", "installed": True}
    pinned = table.get(name)
    if pinned is None:
        return {"name": name, "description": "unknown model", "installed": False, "install": ""}
    return defaults.status(pinned)
