"""The vector index: a Chroma PersistentClient holding ids, vectors and filter metadata only.

Chroma is derived from SQLite and can always be rebuilt (``mem reindex``).  We always pass our own
vectors: Chroma's default embedding function downloads a model and is never used.  Every use holds
a file lock and opens the client afresh, because Chroma's local mode keeps index state in memory
that another process's writes would make stale.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme.errors import StoreError
from secondme.store.db import file_lock

if TYPE_CHECKING:
    import numpy as np

COLLECTION = "memories"


class VectorIndex:
    """An open Chroma collection (use :func:`open_index`)."""

    def __init__(self, collection: Any, directory: Path) -> None:
        self.collection = collection
        self.directory = directory

    def upsert(self, ids: Sequence[int], vectors: np.ndarray, metadatas: list[dict[str, Any]]) -> None:
        """Add or replace vectors."""
        if ids:
            with _translated(self.directory):
                self.collection.upsert(
                    ids=[str(i) for i in ids], embeddings=vectors.tolist(), metadatas=metadatas
                )

    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors (unknown ids are ignored)."""
        if ids:
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


@contextlib.contextmanager
def open_index(directory: Path, write: bool = True, create: bool = True) -> Iterator[VectorIndex]:
    """Open the index under a cross-process lock; closed again on exit."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    lock = directory.with_name(directory.name + ".lock")
    with file_lock(lock, shared=not write):
        if not create and not directory.exists():
            raise StoreError(
                f"the vector index {directory} is missing",
                hint="run `mem reindex` to rebuild it from the database",
            )
        try:
            with _translated(directory):
                client = chromadb.PersistentClient(
                    path=str(directory),
                    settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True),
                )
                collection = client.get_or_create_collection(
                    COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            yield VectorIndex(collection, directory)
        finally:
            # Also after a failed start: a half-built system would otherwise stay cached.
            from chromadb.api.client import SharedSystemClient

            with contextlib.suppress(Exception):
                SharedSystemClient.clear_system_cache()


@contextlib.contextmanager
def _translated(directory: Path) -> Iterator[None]:
    """Turn Chroma's many error types (a damaged directory raises several) into a StoreError."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"the vector index {directory} cannot be used: {exc}",
            hint="run `mem reindex` to rebuild it from the database",
        ) from None


def remove_index(directory: Path) -> None:
    """Delete the index directory (under the lock)."""
    with file_lock(directory.with_name(directory.name + ".lock")):
        shutil.rmtree(directory, ignore_errors=True)
