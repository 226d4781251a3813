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


def unsupported_citations(
    answer: str, question: str, cited: list[Memory], shown: list[Memory]
) -> list[int] | None:
    """Better citations for an answer whose cited memories hold none of its own words.

    The answer's own words are those not already in the question, numbers and words of four
    letters or more ("14 August" for "When is Marta's birthday?").  When none of the cited
    memories holds any of them and other memories shown to the model do, those are returned
    (small models sometimes cite the memory next to the one they used: "14 August [2]" from a
    core memory about work).  None when the citations stand: some cited memory holds an own
    word, the answer has no own words, or no other memory holds them either (a paraphrase is
    not second-guessed).
    """
    own = content_words(CITATION.sub(" ", answer)) - content_words(question)
    # Numbers and longer words only: "yes" or "ok" is in many memories and says nothing.
    own = {word for word in own if word.isdigit() or len(word) >= 4}
    if not own or not cited or any(own & content_words(memory.text) for memory in cited):
        return None
    found = attribute(" ".join(sorted(own)), [m for m in shown if m not in cited])
    return found or None


def recite(answer: str, ids: list[int]) -> str:
    """``answer`` with its citation markers replaced by ``ids``, where its first marker was."""
    marker = "".join(f"[{i}]" for i in ids)
    placed = False

    def swap(match: re.Match[str]) -> str:
        nonlocal placed
        if placed:
            return ""
        placed = True
        return marker

    text = CITATION.sub(swap, answer)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
