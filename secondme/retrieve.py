"""Hybrid retrieval: FTS5 BM25 and vector neighbours, fused by reciprocal rank."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from secondme.memory import ChatPlace, Memory
from secondme.owner import OWNER_SPEAKERS, about_the_owner, others_share, owner_names
from secondme.timeparse import QuestionTime, parse_iso

if TYPE_CHECKING:
    # Only for annotations: the daemon's client builds Hits without loading the store.
    from secondme.config import SearchSettings
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
    neighbour_of: int | None = None
    """The memory this chat window was raised for being next to (``search.neighbour_weight``)."""

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
            "neighbour_of": self.neighbour_of,
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


class KeywordStore(Protocol):
    """What hybrid search needs from the store: BM25 matches and the memories by id."""

    def keyword_search(self, query: str, filters: Filters, limit: int) -> list[tuple[int, float]]:
        """FTS5 BM25 matches as (id, bm25) pairs, best first."""
        ...

    def get_many(self, ids: list[int]) -> dict[int, Memory]:
        """The memories with these ids (missing ids are left out)."""
        ...

    def chat_windows_near(
        self, memories: list[Memory], reach: timedelta, filters: Filters
    ) -> dict[int, list[ChatPlace]]:
        """Per chat window: the windows of the same chat starting within ``reach`` of it."""
        ...


#: "Any tips / advice / suggestions ..." as a request: opening a sentence, or after "do you
#: have", "got" or "give me" ("Did Ana give any tips on the wedding?" asks no one for tips).  A
#: pattern string, shared with :data:`secondme.answer.prompt.SUGGESTION_REQUEST`.
TIPS_REQUEST = (
    r"(?:^|[.!?;]\s+|\b(?:do you have|have you got|got|give me) )any (?:tips|advice|suggestions|ideas"
    r"|recommendations)\b"
)
#: How a request to the assistant is framed, as opposed to what it is about: "Do you think it
#: would be a good idea to attend my high school reunion?", "I was wondering if you could remind
#: me of ...", "Any tips on what to bake?".  As keywords these words match every other request
#: a chat with an assistant holds ("Do you think that's a good idea?" about a shopping spree),
#: so keyword search leaves them out.  Only phrases addressed to "you", and "any tips / advice /
#: ideas" opening a sentence or after "do you have", count: "What did Gina recommend?" and
#: "What were Ana's ideas for the party?" keep their words.
REQUEST_FRAMES = re.compile(
    r"\b(?:do|would|can|could|will) you (?:think|know|remember|recommend|suggest|remind me(?: of)?"
    r"|tell me|help me)\b"
    r"|\b(?:i was|i am|i'm) wondering\b|\bif you could(?: remind me(?: of)?)?\b"
    rf"|{TIPS_REQUEST}"
    r"|\ba (?:good|great|bad) idea\b",
    re.IGNORECASE,
)


#: How a question places itself against the asker's present ("before today", "currently",
#: "recently", "so far", "three months ago") or asks for its answer in order ("the order of",
#: "from earliest to latest").  In a memory these words speak of that memory's own present, so
#: as keywords they only match by chance: "What is the order of airlines I flew with from
#: earliest to latest before today?" matched stock-market messages on "today" and an HTML
#: lesson on "ordered lists".  Keyword search leaves them out; what they say about time is read
#: by the time parser (:func:`secondme.timeparse.question_time`: "currently" and "recently" ask
#: for the newest, "earliest" for the oldest, "how many months ago" counts months).
TIME_FRAMES = re.compile(
    r"\b(?:before |until |up to |as of )?(?:today|now)\b|\bso far\b|\bcurrently\b|\brecently\b"
    r"|\bago\b|\bin (?:the |what |which )?(?:chronological )?order\b|\bthe order (?:of|in which)\b"
    r"|\bfrom (?:the )?(?:earliest|first|oldest) to (?:the )?(?:latest|last|newest|most recent)\b",
    re.IGNORECASE,
)


def keyword_query(question: str) -> str:
    """The words of ``question`` that keyword search looks for: its request frames
    (:data:`REQUEST_FRAMES`) and time frames (:data:`TIME_FRAMES`) left out, unless nothing
    else is left."""
    kept = " ".join(TIME_FRAMES.sub(" ", REQUEST_FRAMES.sub(" ", question)).split())
    return kept if re.search(r"\w", kept) else question


#: ``vector_search(query, n, filters)``: the nearest memories as (id, distance) pairs.
VectorSearch = Callable[[str, int, "Filters"], list[tuple[int, float]]]

#: A memory whose date falls in the period a question names ("in May 2023", "last week") gets
#: its fused score raised by this share: a boost, not a filter, because an event can be told
#: about after it happened.  Chosen by 3-fold cross-validation over the LoCoMo conversations
#: (``bench/period_cv.py``: every fold fitted 8; held-out recall@10 0.693 -> 0.699, 0.744 ->
#: 0.757, 0.758 -> 0.764 against the 0.5 of before).
PERIOD_BOOST = 8.0
#: For "two weeks before X" the period is a guess around the date of the best match for X, so
#: memories in it are raised by this smaller share.
RELATIVE_BOOST = 0.5
#: For "two weeks before X": memories dated within this many days of the implied date count.
RELATIVE_SLACK_DAYS = 4
#: How far before a chat window's start the one before it can start: a window holds a few
#: messages (``WINDOW_CHARS``), each at most a sitting's gap after the last.
WINDOW_SPAN = timedelta(hours=6)


def search(
    query: str,
    k: int,
    filters: Filters,
    *,
    store: KeywordStore,
    vector_search: VectorSearch | None,
    settings: SearchSettings,
    mode: str = "hybrid",
    when: QuestionTime | None = None,
) -> list[Hit]:
    """The ``k`` best memories for ``query``; ``mode`` is hybrid, keyword or vector.

    ``store`` gives BM25 matches and memories (for the question without its request frames:
    :func:`keyword_query`), ``vector_search`` the nearest neighbours (None: keyword only).
    ``when`` (from :func:`secondme.timeparse.question_time`) raises memories dated in the
    period the question names.  For a question about the owner ("where did I
    ..."), what others wrote in chats counts for less (``settings.owner_boost``).  In hybrid
    mode, a chat window right before or after a strong match in the same sitting is raised by
    ``settings.neighbour_weight`` of that match's score: an exchange often runs over two
    windows, the question's words in one and the answer in the next.
    """
    n = max(settings.candidates, k * 3)
    keyword: list[tuple[int, float]] = []
    vector: list[tuple[int, float]] = []
    if mode in ("hybrid", "keyword"):
        keyword = store.keyword_search(keyword_query(query), filters, n)
    if mode in ("hybrid", "vector") and vector_search is not None and not _vault_only(filters):
        vector = vector_search(query, n, filters)
    keyword_ids = [i for i, _ in keyword]
    vector_ids = [i for i, _ in vector]
    scores = fuse([keyword_ids, vector_ids], settings.rrf_k, [1.0, settings.vector_weight])
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    boosting = when is not None and (when.has_period or when.relative_days is not None)
    owner_first = settings.owner_boost > 0 and about_the_owner(query)
    fetched = ranked[: max(k * 2, n)] if boosting or owner_first else ranked[: k * 2]
    memories = store.get_many(fetched)
    if boosting and when is not None:
        scores = _boost_period(scores, ranked, memories, when)
    if owner_first:
        scores = _weigh_others(scores, memories, settings.owner_boost, owner_names(settings.owner_names))
    if boosting or owner_first:
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
    lifted_by: dict[int, int] = {}
    if mode == "hybrid" and settings.neighbour_weight > 0 and ranked:
        top = ranked[: k * 2]
        memories.update(store.get_many([i for i in top if i not in memories]))
        scores, lifted_by = _lift_neighbours(scores, top, memories, store, filters, settings.neighbour_weight)
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        memories.update(store.get_many([i for i in ranked[: k * 2] if i not in memories]))
    distances = dict(vector)
    keyword_rank = {memory_id: rank for rank, memory_id in enumerate(keyword_ids, start=1)}
    vector_rank = {memory_id: rank for rank, memory_id in enumerate(vector_ids, start=1)}
    hits: list[Hit] = []
    for memory_id in ranked:
        memory = memories.get(memory_id)
        if memory is None:
            continue  # the index is ahead of the database (a forget in flight): skip it
        hits.append(
            Hit(
                memory=memory,
                score=scores[memory_id],
                keyword_rank=keyword_rank.get(memory_id),
                vector_rank=vector_rank.get(memory_id),
                distance=distances.get(memory_id),
                neighbour_of=lifted_by.get(memory_id),
            )
        )
        if len(hits) == k:
            break
    return hits


def memory_moment(memory: Memory) -> datetime | None:
    """When a memory happened (else when it was noted), or None."""
    for value in (memory.occurred_at, memory.valid_from, memory.recorded_at):
        moment = parse_iso(value)
        if moment is not None:
            return moment
    return None


def _boost_period(
    scores: dict[int, float], ranked: list[int], memories: dict[int, Memory], when: QuestionTime
) -> dict[int, float]:
    since, until = when.since, when.until
    if when.relative_days is not None:
        # Place "two weeks before X" against the date of the best match for X.
        anchor = next((memory_moment(memories[i]) for i in ranked if i in memories), None)
        if anchor is None:
            return scores
        target = anchor + timedelta(days=when.relative_days)
        slack = timedelta(days=RELATIVE_SLACK_DAYS)
        since, until = min(target, anchor) - slack, max(target, anchor) + slack
    period = QuestionTime(since=since, until=until)
    boost = RELATIVE_BOOST if when.relative_days is not None else PERIOD_BOOST
    boosted = dict(scores)
    for memory_id, memory in memories.items():
        moment = memory_moment(memory)
        if moment is not None and memory_id in boosted and period.contains(moment):
            boosted[memory_id] *= 1.0 + boost
    return boosted


def _weigh_others(
    scores: dict[int, float],
    memories: dict[int, Memory],
    boost: float,
    owner: frozenset[str] = OWNER_SPEAKERS,
) -> dict[int, float]:
    # A chat memory's score is divided by 1 + boost x the share of it that others wrote: the
    # owner's own messages keep their score, another speaker's lose most of it.  Memories that
    # are not chats (notes, typed memories, documents) keep theirs.
    weighed = dict(scores)
    for memory_id, memory in memories.items():
        share = others_share(memory, owner)
        if share and memory_id in weighed:
            weighed[memory_id] /= 1.0 + boost * share
    return weighed


def chat_neighbours(place: ChatPlace, near: list[ChatPlace], gap: timedelta) -> list[int]:
    """The windows right before and after a chat window in its chat, within one sitting.

    ``near`` holds windows of the same chat around it (:meth:`chat_windows_near`); of those in
    the same conversation, in time order, the one just before counts when it ended at most
    ``gap`` before ``place`` started, and the one just after when it started at most ``gap``
    after ``place`` ended.
    """
    same = [p for p in near if p.conversation == place.conversation and p.id != place.id]
    same.append(place)
    try:
        order = sorted(same, key=lambda p: (parse_iso(p.start) or datetime.min, p.id))
    except TypeError:  # aware and naive times in one chat: a mixed export; no neighbours
        return []
    at = order.index(place)
    found = []
    if at > 0 and _within(parse_iso(place.start), parse_iso(order[at - 1].end), gap):
        found.append(order[at - 1].id)
    if at + 1 < len(order) and _within(parse_iso(order[at + 1].start), parse_iso(place.end), gap):
        found.append(order[at + 1].id)
    return found


def _within(later: datetime | None, earlier: datetime | None, gap: timedelta) -> bool:
    if later is None or earlier is None:
        return False
    try:
        return later - earlier <= gap
    except TypeError:  # one aware and one naive time: not one sitting
        return False


def _lift_neighbours(
    scores: dict[int, float],
    top: list[int],
    memories: dict[int, Memory],
    store: KeywordStore,
    filters: Filters,
    weight: float,
) -> tuple[dict[int, float], dict[int, int]]:
    # Each window next to one of the top matches gains ``weight`` x that match's score (the
    # best such neighbour's, when both sides qualify).  The raise is computed from the scores
    # before any raise, so windows do not lift each other along a chat.
    from secondme.ingest.sources.chats import SITTING_GAP

    lift: dict[int, tuple[float, int]] = {}
    chats = [memories[i] for i in top if i in memories and memories[i].source_kind == "chat"]
    around = store.chat_windows_near(chats, WINDOW_SPAN + SITTING_GAP, filters) if chats else {}
    for memory in chats:
        memory_id = memory.id
        for neighbour in chat_neighbours(ChatPlace.of(memory), around.get(memory_id, []), SITTING_GAP):
            if scores[memory_id] > lift.get(neighbour, (0.0, 0))[0]:
                lift[neighbour] = (scores[memory_id], memory_id)
    raised = dict(scores)
    for memory_id, (score, _source) in lift.items():
        raised[memory_id] = scores.get(memory_id, 0.0) + weight * score
    return raised, {memory_id: source for memory_id, (_score, source) in lift.items()}


def _vault_only(filters: Filters) -> bool:
    return bool(filters.types) and all(t.value == "vault" for t in filters.types)
