"""The vector index: Chroma holding ids, vectors and filter metadata only.

Chroma is derived from SQLite and can always be rebuilt (``mem reindex``).  We always pass our own
vectors: Chroma's default embedding function downloads a model and is never used; this module
never imports an embedder.  The index lives either in a directory of the data home (a
PersistentClient, used under a file lock and reopened when another process wrote, because
Chroma's local mode keeps index state in memory) or on a Chroma server (``chroma run``), for a
home shared between machines.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from secondme.errors import StoreError
from secondme.store.db import file_lock

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

COLLECTION = "memories"
#: How many candidates the HNSW graph keeps while it searches (Chroma's ``ef_search``, 100 by
#: default).  At 100, a neighbour around the 40th place was sometimes missing: the same
#: LongMemEval haystack, indexed five times, lost its 43rd match in one build, so the same
#: question could get a different answer from a rebuilt index.  At 200 sixteen builds agreed,
#: and search time and retrieval figures did not move (LoCoMo, LongMemEval).
SEARCH_EF = 200


@dataclass(frozen=True)
class Server:
    """A Chroma server holding the index (``vector.url``), with an optional bearer token."""

    url: str
    token: str | None = None
    collection: str = COLLECTION

    def __str__(self) -> str:
        return f"{self.url.rstrip('/')}#{self.collection}"


# Where an index lives: a directory of the data home, or a server.
Location = Path | Server


class VectorIndex:
    """An open Chroma collection (use :func:`open_index`)."""

    def __init__(self, collection: Any, where: Location) -> None:
        self.collection = collection
        self.directory = where
        self.changed = False

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, metadatas: list[dict[str, Any]]) -> None:
        """Add or replace vectors."""
        if ids:
            self.changed = True
            with _translated(self.directory):
                self.collection.upsert(
                    ids=[str(i) for i in ids], embeddings=vectors.tolist(), metadatas=metadatas
                )

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors (unknown ids are ignored)."""
        if ids:
            self.changed = True
            with _translated(self.directory):
                self.collection.delete(ids=[str(i) for i in ids])

    def query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        """Nearest memories as (id, cosine distance), best first."""
        with _translated(self.directory):
            total = self.collection.count()
            if total == 0:
                return []
            result = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=min(n, total),
                where=where or None,
                include=["distances"],
            )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(int(i), float(d)) for i, d in zip(ids, distances, strict=False)]

    def all_ids(self) -> dict[int, dict[str, Any]]:
        """Every id in the index with its metadata."""
        out: dict[int, dict[str, Any]] = {}
        offset = 0
        with _translated(self.directory):
            while True:
                page = self.collection.get(include=["metadatas"], limit=5000, offset=offset)
                if not page["ids"]:
                    return out
                for i, meta in zip(page["ids"], page["metadatas"], strict=False):
                    out[int(i)] = dict(meta or {})
                offset += len(page["ids"])

    def count(self) -> int:
        """How many vectors the index holds."""
        with _translated(self.directory):
            return int(self.collection.count())


# One open client per process, reused while no other process wrote.  Chroma keeps the vector
# index in memory: a client opened before another process's write does not see that write, so
# every writer bumps a generation stamp (a small file beside the index) and a reader whose
# client is older than the stamp reopens it.
_open: dict[str, Any] = {}
_open_lock = threading.RLock()


def _stamp_file(directory: Path) -> Path:
    return directory.with_name(directory.name + ".generation")


def _generation(directory: Path) -> str:
    try:
        return _stamp_file(directory).read_text()
    except OSError:
        return ""


def _bump(directory: Path) -> str:
    stamp = uuid.uuid4().hex
    tmp = _stamp_file(directory).with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(stamp)
    os.replace(tmp, _stamp_file(directory))
    return stamp


def close_index() -> None:
    """Drop the cached client (the next use opens the index afresh)."""
    with _open_lock:
        _open.clear()
        from chromadb.api.client import SharedSystemClient

        with contextlib.suppress(Exception):
            SharedSystemClient.clear_system_cache()


def _collection(directory: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    generation = _generation(directory)
    if (
        _open.get("directory") == str(directory)
        and _open.get("generation") == generation
        and directory.exists()
    ):
        return _open["collection"]
    close_index()
    with _translated(directory):
        client = chromadb.PersistentClient(
            path=str(directory),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True),
        )
        collection = _get_or_create(client, COLLECTION)
    _open.update(directory=str(directory), generation=generation, collection=collection)
    return collection


def _get_or_create(client: Any, name: str) -> Any:
    """The collection ``name``: cosine distance, searched with :data:`SEARCH_EF` candidates.

    A collection made before ``SEARCH_EF`` (or with a lower one) has it raised; where that
    cannot be written (a server that refuses it), the search still works as before.
    """
    from chromadb.errors import ChromaError

    collection = client.get_or_create_collection(
        name, embedding_function=None, metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF}
    )
    hnsw = collection.configuration.get("hnsw") or {}
    if hnsw.get("ef_search", 0) < SEARCH_EF:
        try:
            collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
        except (ChromaError, ValueError) as exc:  # an older server: keep its setting
            log.debug("cannot raise ef_search of %s: %s", name, exc)
    return collection


_servers: dict[Server, tuple[Any, Any]] = {}


def _server_collection(server: Server) -> Any:
    """The server's collection, with one HTTP client per server and process."""
    return _server(server)[1]


def _server(server: Server) -> tuple[Any, Any]:
    """(client, collection) for a server, connected on first use."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    with _open_lock:
        if server in _servers:
            return _servers[server]
        parts = urlsplit(server.url if "://" in server.url else f"http://{server.url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(
                f"vector.url {server.url!r} is not an http(s) address",
                hint="use the address `chroma run` prints, e.g. http://127.0.0.1:8000",
            )
        headers = {"Authorization": f"Bearer {server.token}"} if server.token else None
        with _translated(server):
            client = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                headers=headers,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            collection = _get_or_create(client, server.collection)
        _servers[server] = (client, collection)
        return client, collection


def exists(where: Location) -> bool:
    """Whether an index may be there (a server is asked only when it is used)."""
    return isinstance(where, Server) or where.exists()


@contextlib.contextmanager
def open_index(where: Location, write: bool = True, create: bool = True) -> Iterator[VectorIndex]:
    """Use the index; a local one under a cross-process lock (shared for reading, exclusive for writing).

    A server orders concurrent writers itself, so no file lock is taken for it.
    """
    if isinstance(where, Server):
        try:
            yield VectorIndex(_server_collection(where), where)
        except StoreError:
            with _open_lock:
                _servers.pop(where, None)  # reconnect next time (the server may be back)
            raise
        return
    directory = where
    lock = directory.with_name(directory.name + ".lock")
    with _open_lock, file_lock(lock, shared=not write):
        if not create and not directory.exists():
            raise StoreError(
                f"the vector index {directory} is missing",
                hint="run `mem reindex` to rebuild it from the database",
            )
        try:
            index = VectorIndex(_collection(directory), directory)
            yield index
        except BaseException:
            close_index()  # a damaged or half-opened index is not reused
            raise
        if index.changed:
            _open["generation"] = _bump(directory)


@contextlib.contextmanager
def _translated(where: Location) -> Iterator[None]:
    """Turn Chroma's many error types (a damaged directory raises several) into a StoreError."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        if isinstance(where, Server):
            raise StoreError(
                f"the Chroma server at {where.url} cannot be used: {detail}",
                hint="start it (`chroma run --path DIR --port N`) or unset vector.url; "
                "`mem doctor --repair` catches up once it is back",
            ) from None
        raise StoreError(
            f"the vector index {where} cannot be used: {detail}",
            hint="run `mem reindex` to rebuild it from the database",
        ) from None


def remove_index(where: Location) -> None:
    """Delete the index (under the lock); other processes reopen it afresh."""
    if isinstance(where, Server):
        import chromadb

        with _translated(where):
            client, _ = _server(where)
            with contextlib.suppress(chromadb.errors.NotFoundError, ValueError):
                client.delete_collection(where.collection)
        with _open_lock:
            _servers.pop(where, None)
        return
    directory = where
    with _open_lock, file_lock(directory.with_name(directory.name + ".lock")):
        close_index()
        shutil.rmtree(directory, ignore_errors=True)
        _bump(directory)


def compact_index(directory: Path) -> int:
    """Rewrite the index with only the vectors it still holds; returns how many were kept.

    Chroma's delete only marks vectors as deleted: they stay in its write-ahead log
    (``embeddings_queue`` in ``chroma.sqlite3``), in freed database pages and in the HNSW files.
    Copying the live vectors into a fresh directory and swapping it in leaves none of them
    behind, without re-embedding anything.  The old directory is removed only after the new one
    is complete; were the process to stop half-way, ``mem doctor --repair`` rebuilds the index.
    """
    if not directory.exists():
        return 0
    fresh = directory.with_name(directory.name + ".compact")
    old = directory.with_name(directory.name + ".old")
    with _open_lock, file_lock(directory.with_name(directory.name + ".lock")):
        ids: list[str] = []
        vectors: list[Any] = []
        metadatas: list[Any] = []
        with _translated(directory):
            collection = _collection(directory)
            offset = 0
            while True:
                page = collection.get(include=["embeddings", "metadatas"], limit=5000, offset=offset)
                if not page["ids"]:
                    break
                ids.extend(page["ids"])
                vectors.extend(list(v) for v in page["embeddings"])
                metadatas.extend(page["metadatas"])
                offset += len(page["ids"])
        close_index()
        shutil.rmtree(fresh, ignore_errors=True)
        with _translated(fresh):
            collection = _collection(fresh)
            for start in range(0, len(ids), 1000):
                collection.add(
                    ids=ids[start : start + 1000],
                    embeddings=[[float(x) for x in v] for v in vectors[start : start + 1000]],
                    metadatas=metadatas[start : start + 1000],
                )
        close_index()
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
        os.replace(fresh, directory)
        shutil.rmtree(old, ignore_errors=True)
        _bump(directory)
    return len(ids)
