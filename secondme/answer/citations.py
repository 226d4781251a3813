"""Citations and abstentions in an answer's text: ``[12]`` markers, "I don't know", attribution."""

from __future__ import annotations

import re

from secondme.memory import Memory

IDK = "I don't know"

CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_ABSTAIN = re.compile(
    r"\bi (?:do not|don't|dont) know\b"
    r"|\bnot (?:mentioned|stated|specified|provided|in (?:the|your) memories)\b"
    r"|\bno (?:information|memory|memories|record)\b|\bmemories do not\b|\bcannot (?:find|determine)\b",
    re.IGNORECASE,
)


def parse_citations(text: str) -> list[int]:
    """Ids cited as [12] or [12, 13], in order of first appearance."""
    seen: list[int] = []
    for group in CITATION.findall(text):
        for part in group.split(","):
            value = int(part.strip())
            if value not in seen:
                seen.append(value)
    return seen


def strip_citations(text: str) -> str:
    """The answer's words without its ``[12]`` markers (what a scorer compares with a gold answer)."""
    return " ".join(CITATION.sub(" ", text).split()).replace(" .", ".").replace(" ,", ",")


def is_abstention(text: str) -> bool:
    """True when the answer says the memories do not tell."""
    return bool(_ABSTAIN.search(text)) or not text.strip()


def content_words(text: str) -> set[str]:
    """The lower-cased words of ``text`` that carry meaning (stopwords and single letters dropped)."""
    from secondme.store.memories import STOPWORDS

    return {w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 1}


def attribute(answer: str, memories: list[Memory]) -> list[int]:
    """The memories whose words the answer repeats most (at least two words, or all of a short one)."""
    words = content_words(answer)
    best: list[tuple[int, int]] = []
    for memory in memories:
        overlap = len(words & content_words(memory.text))
        if overlap >= 2 or (overlap == 1 and len(words) == 1):
            best.append((overlap, memory.id))
    best.sort(reverse=True)
    if not best:
        return []
    top = best[0][0]
    return [memory_id for overlap, memory_id in best if overlap == top][:3]
