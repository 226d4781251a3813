"""Hybrid retrieval: FTS5 BM25 and vector neighbours, fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from secondme.memory import Memory

if TYPE_CHECKING:
    # Only for annotations: the daemon's client builds Hits without loading the store.
    from secondme.service import Secondme
    from secondme.store.memories import Filters


@dataclass
class Hit:
    """A search result: the memory, its fused score and where it ranked in each retriever."""

    memory: Memory
    score: float
    keyword_rank: int | None = None
    vector_rank: int | None = None
    distance: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``mem search --json``."""
        m = self.memory
        return {
            "id": m.id,
            "type": m.type.value,
            "text": m.text,
            "score": round(self.score, 6),
            "occurred_at": m.occurred_at,
            "recorded_at": m.recorded_at,
            "source": m.source_kind,
            "source_ref": m.source_ref,
            "keyword_rank": self.keyword_rank,
            "vector_rank": self.vector_rank,
        }


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """The same filters as metadata conditions for the vector index."""
    clauses: list[dict[str, Any]] = []
    if filters.types:
        clauses.append({"type": {"$in": [t.value for t in filters.types]}})
    if not filters.include_superseded and (filters.types or filters.since or filters.until):
        clauses.append({"current": True})
    if filters.since:
        clauses.append({"when_ts": {"$gte": int(datetime.fromisoformat(filters.since).timestamp())}})
    if filters.until:
        clauses.append({"when_ts": {"$lte": int(datetime.fromisoformat(filters.until).timestamp())}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def fuse(rankings: list[list[int]], rrf_k: int, weights: list[float] | None = None) -> dict[int, float]:
    """Reciprocal rank fusion: each list adds weight / (rrf_k + rank) for the ids it holds."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, memory_id in enumerate(ranking, start=1):
            scores[memory_id] = scores.get(memory_id, 0.0) + weight / (rrf_k + rank)
    return scores


def search(app: Secondme, query: str, k: int, filters: Filters, mode: str = "hybrid") -> list[Hit]:
    """The ``k`` best memories for ``query``; ``mode`` is hybrid, keyword or vector."""
    settings = app.settings.search
    n = max(settings.candidates, k * 3)
    keyword: list[tuple[int, float]] = []
    vector: list[tuple[int, float]] = []
    if mode in ("hybrid", "keyword"):
        keyword = app.store.keyword_search(query, filters, n)
    if mode in ("hybrid", "vector") and not _vault_only(filters):
        vector = app.vector_search(query, n, filters)
    keyword_ids = [i for i, _ in keyword]
    vector_ids = [i for i, _ in vector]
    scores = fuse([keyword_ids, vector_ids], settings.rrf_k)
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    memories = app.store.get_many(ranked[: k * 2])
    distances = dict(vector)
    hits: list[Hit] = []
    for memory_id in ranked:
        memory = memories.get(memory_id)
        if memory is None:
            continue  # the index is ahead of the database (a forget in flight): skip it
        hits.append(
            Hit(
                memory=memory,
                score=scores[memory_id],
                keyword_rank=keyword_ids.index(memory_id) + 1 if memory_id in keyword_ids else None,
                vector_rank=vector_ids.index(memory_id) + 1 if memory_id in vector_ids else None,
                distance=distances.get(memory_id),
            )
        )
        if len(hits) == k:
            break
    return hits


def _vault_only(filters: Filters) -> bool:
    return bool(filters.types) and all(t.value == "vault" for t in filters.types)
