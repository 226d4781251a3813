"""Compact evidence: the sentences and chat messages of the retrieved memories that bear on a
question, chosen into a token budget.

A retrieved chat window or note holds far more than the question needs, and on a small CPU
every prompt token costs time.  Each memory is cut into units (chat messages, sentences; long
messages into sentences, keeping the speaker), units are scored by the question words they
share (weighted by rarity among all candidate units), by their meaning (the embedding's
similarity to the question, where an embedder is loaded), by who said them (the owner's own
words for a question in the first person) and by a prior from the memory's search rank, and
the best units are taken until the budget is spent.  Each selected chat message may
bring part of the message before it, so that "it" and "that" keep their referent.  Memories
keep their ids and dates: the unit a person sees and cites stays the memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from secondme.answer.citations import content_words
from secondme.owner import OWNER_SPEAKERS, about_the_owner, is_owner
from secondme.stemmer import porter_stem

if TYPE_CHECKING:
    from secondme.memory import Memory
    from secondme.retrieve import Hit

#: A unit longer than this (characters) is cut into sentences.
LONG_UNIT = 280
#: How much of the previous chat message comes along as context (characters).
CONTEXT_CHARS = 90
#: The weight of the memory's search rank against the question-word overlap (0..1).
RANK_PRIOR = 0.35
#: The best unit of each of this many top memories is always kept (vector matches share no
#: words with the question but are often right).
ALWAYS_KEEP = 2
#: For a question in the first person, the owner's own messages ("me" in chat exports, "user"
#: in a chat with an assistant, or a name of ``search.owner_names``) gain this much: what they
#: said of themselves answers "my ...".
OWNER_WEIGHT = 0.8
#: The weight of a chat participant's name among the question's words: names match every
#: message that addresses the person ("Thanks, Melanie!"), so they say little about which
#: message answers.
NAME_WEIGHT = 0.2
#: Tokens each memory's header takes in the prompt ("[123] (8 May 2023) ").
HEADER_TOKENS = 10
#: Meaning, not only words: a unit's cosine similarity to the question above the floor adds
#: up to this weight to its score, and lets a unit that shares no word with the question in.
SIMILARITY_WEIGHT = 1.0
#: Cosine similarity (all-MiniLM-L6-v2) below which a unit is taken as unrelated.
SIMILARITY_FLOOR = 0.2
#: A unit scoring below this share of the best unit's score is left out even when the budget
#: has room: in a small home a question matches few memories, and the budget would otherwise
#: fill with faint matches ("Bought a rain jacket" for "When did I last go climbing?") that the
#: 1.5B model then answers from (``bench/updates_probe.py``: 17 -> 20 of 22).  On the benchmarks
#: the budget fills before: evidence reach is the same with and without it (LoCoMo 0.655,
#: LongMemEval 0.828, ``bench/evidence_select.py``).
RELATIVE_FLOOR = 0.3

#: A question that asks for several things: a plural thing after "what"/"which" and before its
#: verb ("What books has Melanie read?", "Which cities has Jon visited?", "What kind of
#: activities did they do?"), "all the" or "what are the" ("What are the names of John's
#: children?").
SEVERAL_THINGS = re.compile(
    r"\b(?:what|which)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+)?(?:\w+\s+)?\w+[^s'\W]s"
    r"\s+(?:has|have|does|do|did|are|were)\b"
    r"|\ball the\b|\bwhat are the\b",
    re.IGNORECASE,
)
#: A question that counts things, not a span of time ("How many times ...?", "How many Korean
#: restaurants have I tried?", not "How many weeks ...?").
COUNT_OF_THINGS = re.compile(
    r"\bhow many\b(?!\s+(?:seconds|minutes|hours|days|nights|weeks|months|years)\b)", re.IGNORECASE
)

#: Cosine similarities of texts to the question (the embedder's, where one is loaded).
Similarity = Callable[[list[str]], Sequence[float]]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def asks_for_several(question: str) -> bool:
    """True when ``question`` asks for several things (:data:`SEVERAL_THINGS`)."""
    return bool(SEVERAL_THINGS.search(question))


def gathers(question: str) -> bool:
    """True when the answer to ``question`` is spread over several memories: it asks for several
    things or counts them (:data:`COUNT_OF_THINGS`)."""
    return asks_for_several(question) or bool(COUNT_OF_THINGS.search(question))


def budget_for(question: str, context_tokens: int, list_context_tokens: int) -> int:
    """The evidence budget for ``question``: ``context_tokens``, or for a question whose answer
    is spread over several memories (:func:`gathers`) the larger of it and
    ``list_context_tokens`` (0: no larger budget)."""
    return max(context_tokens, list_context_tokens) if gathers(question) else context_tokens


def estimate_tokens(text: str) -> int:
    """A quick token count for budgeting (English text runs about four characters a token)."""
    return max(1, math.ceil(len(text) / 3.8))


@dataclass
class Unit:
    """One message or sentence of a memory."""

    index: int
    text: str
    speaker: str | None = None
    stems: set[str] = field(default_factory=set)
    score: float = 0.0


@dataclass
class Excerpt:
    """What of one memory goes into the prompt: some of its units, in their order."""

    memory: Memory
    rank: int
    units: list[Unit]
    whole: bool = False

    def text(self) -> str:
        """The units joined; "…" marks where units were left out."""
        parts: list[str] = []
        last = -2
        for unit in sorted(self.units, key=lambda u: u.index):
            if parts and unit.index != last + 1:
                parts.append("…")
            parts.append(unit.text)
            last = unit.index
        return " ".join(parts)


def stems(text: str) -> set[str]:
    """The stems of a text's content words."""
    return {porter_stem(word) for word in content_words(text)}


def units_of(memory: Memory) -> list[Unit]:
    """A memory cut into units: chat messages (long ones into sentences, speaker kept) or sentences."""
    pieces = memory.chat_lines() or [
        (None, paragraph) for paragraph in re.split(r"\n\s*\n|\n(?=[-*#] )", memory.text)
    ]
    units: list[Unit] = []
    for speaker, raw in pieces:
        body = " ".join(raw.split())
        if not body:
            continue
        sentences = _SENTENCE.split(body) if len(body) > LONG_UNIT or speaker is None else [body]
        for sentence in _pack(sentences):
            text = f"{speaker}: {sentence}" if speaker else sentence
            units.append(Unit(index=len(units), text=text, speaker=speaker, stems=stems(sentence)))
    return units


def _pack(sentences: list[str]) -> list[str]:
    # Very short sentences ("Wow!") say little alone: keep them with the next one.
    out: list[str] = []
    carry = ""
    for sentence in sentences:
        joined = f"{carry} {sentence}".strip() if carry else sentence
        if len(joined) < 40:
            carry = joined
            continue
        out.append(joined)
        carry = ""
    if carry:
        if out and len(out[-1]) + len(carry) < LONG_UNIT:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def _semantic(units: list[list[Unit]], hits: list[Hit], similarity: Similarity | None) -> dict[int, float]:
    """Each unit's similarity to the question above :data:`SIMILARITY_FLOOR`, scaled to 0..1.

    Vault memories are never embedded: their units get no similarity.
    """
    if similarity is None:
        return {}
    scored = [
        unit
        for hit, memory_units in zip(hits, units, strict=True)
        if hit.memory.type.value != "vault"
        for unit in memory_units
    ]
    if not scored:
        return {}
    values = similarity([unit.text for unit in scored])
    span = 1.0 - SIMILARITY_FLOOR
    return {
        id(unit): max(0.0, float(value) - SIMILARITY_FLOOR) / span
        for unit, value in zip(scored, values, strict=True)
    }


def select_evidence(
    question: str,
    hits: list[Hit],
    budget: int,
    similarity: Similarity | None = None,
    owner: frozenset[str] = OWNER_SPEAKERS,
) -> list[Excerpt]:
    """The excerpts of ``hits`` (best first) that fit ``budget`` tokens and bear on ``question``.

    ``similarity`` gives the cosine similarity of unit texts to the question: with it, units are
    chosen by meaning as well as by the question's words.  A memory that fits whole within its
    share is shown whole when all of it is chosen anyway.  The excerpts come back in search-rank
    order; the prompt puts them in time order.  ``owner``: the speaker names (lower case) that
    stand for the owner (:func:`secondme.owner.owner_names`).
    """
    if not hits:
        return []
    asked = stems(question)
    units = [units_of(hit.memory) for hit in hits]
    semantic = _semantic(units, hits, similarity)
    frequency: dict[str, int] = {}
    total = 0
    for memory_units in units:
        for unit in memory_units:
            total += 1
            for stem in unit.stems & asked:
                frequency[stem] = frequency.get(stem, 0) + 1
    names = {
        porter_stem(part.lower())
        for hit in hits
        for speaker in hit.memory.metadata.get("speakers") or []
        for part in str(speaker).split()
    }
    weight = {
        stem: math.log(1 + (total + 1) / (frequency.get(stem, 0) + 0.5))
        * (NAME_WEIGHT if stem in names else 1.0)
        for stem in asked
    }
    best_possible = sum(weight.values()) or 1.0
    # A question made only of names ("What did Batman & Robin say to Jimmeny?") is about who
    # said what: then a message's speaker counts among its words.
    only_names = not any(unit.stems & (asked - names) for memory_units in units for unit in memory_units)
    candidates: list[tuple[float, int, Unit]] = []
    owners_words = OWNER_WEIGHT if about_the_owner(question) else 0.0
    for rank, memory_units in enumerate(units):
        prior = RANK_PRIOR / (1 + rank)
        for unit in memory_units:
            meaning = SIMILARITY_WEIGHT * semantic.get(id(unit), 0.0)
            if only_names:
                shared = (unit.stems | stems(unit.speaker or "")) & asked
                unit.score = sum(weight[s] for s in shared) / best_possible + prior if shared else prior
            else:
                shared = unit.stems & asked
                overlap = sum(weight[s] for s in shared) / best_possible
                # A unit that shares only a name with the question is no evidence on its own.
                unit.score = overlap + prior if shared - names else prior
            unit.score += meaning
            if owners_words and unit.score > prior and is_owner(unit.speaker, owner):
                unit.score += owners_words  # only a unit that bears on the question at all
            candidates.append((unit.score, rank, unit))
    chosen: dict[int, list[Unit]] = {}
    spent = 0

    def take(rank: int, unit: Unit, cost: int | None = None) -> bool:
        nonlocal spent
        cost = cost if cost is not None else estimate_tokens(unit.text) + 1
        header = 0 if rank in chosen else HEADER_TOKENS
        if spent + cost + header > budget:
            return False
        chosen.setdefault(rank, []).append(unit)
        spent += cost + header
        return True

    for rank, memory_units in enumerate(units[:ALWAYS_KEEP]):
        if memory_units:
            take(rank, max(memory_units, key=lambda u: (u.score, -u.index)))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2].index))
    weakest = RELATIVE_FLOOR * (candidates[0][0] if candidates else 0.0)
    for score, rank, unit in candidates:
        if unit in chosen.get(rank, []):
            continue
        if score <= RANK_PRIOR / (1 + rank) or score < weakest:
            continue  # shares no word with the question, or far less than the best: leave it out
        take(rank, unit)
    # Context: the message before each chosen chat message, shortened, where the budget allows.
    for rank in sorted(chosen):
        indexes = {u.index for u in chosen[rank]}
        for unit in sorted(chosen[rank], key=lambda u: u.index):
            before = unit.index - 1
            if unit.speaker is None or before < 0 or before in indexes:
                continue
            previous = units[rank][before]
            text = previous.text
            if len(text) > CONTEXT_CHARS:
                text = text[:CONTEXT_CHARS].rsplit(" ", 1)[0] + " …"
            context = Unit(index=before, text=text, speaker=previous.speaker, stems=previous.stems)
            if take(rank, context):
                indexes.add(before)
    return [
        Excerpt(
            memory=hits[rank].memory,
            rank=rank,
            units=chosen[rank],
            whole=len({u.index for u in chosen[rank]}) == len(units[rank]),
        )
        for rank in sorted(chosen)
    ]
