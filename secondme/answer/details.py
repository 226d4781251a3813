"""A question about a thing the memories do not hold, where they hold another of its kind.

"What is the name of Maria's second kitten?" when Maria's chats tell of a pup and never of a
kitten; "What did Maria make to remind her of a trip to France?" when the trip was to England;
"What was grandpa's gift to Caroline?" when the gift was grandma's.  Given such evidence the
small answer model answers from the nearest story (the pup's name, the England souvenir), and
the answer check cannot see it: the answer is about the right person.  Word vectors do not tell
"kitten" from "pup" either (they are as near as "edu" and "education").

So before the model runs, each concrete noun of the question (an animal, an object, a place, a
person's role, a food ...; :data:`CONCRETE`) that no memory shown repeats is looked up in
WordNet (:mod:`secondme.lexicon`).  When no memory names it, a more general or a more specific
thing (a "dog" for "puppy", a "puppy" for "dog"), but one names a *sibling* (another kind of
the same thing: "pup" beside "kitten", both young mammals), the question is declined: "I don't
know: the memories mention "pup", not "kitten" [12]."  Only each word's most frequent sense
counts, and only words mostly used as nouns; names of people are left out, and questions that
ask what is likely ("Would Melanie enjoy ...?") are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from secondme.answer.checks import Misattribution
from secondme.answer.evidence import stems
from secondme.stemmer import porter_stem

if TYPE_CHECKING:
    from secondme.answer.evidence import Excerpt
    from secondme.lexicon import Lexicon, Sense

#: Lexicographer files of things one can point at or place; abstract nouns ("type", "way",
#: "reaction") have too many loose relatives to be compared this way.
CONCRETE = frozenset(
    {
        "noun.animal",
        "noun.artifact",
        "noun.body",
        "noun.event",
        "noun.food",
        "noun.location",
        "noun.object",
        "noun.person",
        "noun.phenomenon",
        "noun.plant",
        "noun.substance",
    }
)
#: Kinds of things whose cousins (sharing a grandparent, not a parent) count as siblings too:
#: cities sit under different countries, kin under different relations.
COUSIN_KINDS = frozenset({"noun.location", "noun.person"})
#: How many steps up the hierarchy a more general word still counts as naming the same thing.
GENERAL_DEPTH = 3

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
# A chat message's speaker: "Maria: ...".
_SPEAKER = re.compile(r"\b([A-Z][a-z]+): ")
# What a sentence's first word follows (spaces and quotes aside): an end of sentence, a
# speaker's colon, an ellipsis, a bracket or a new line.
_OPENERS = ".!?:…(\n"
# Questions that ask what is likely, not what the memories say.
_HYPOTHETICAL = re.compile(r"^\W*(?:would|could|might)\b|\blikely\b", re.IGNORECASE)


def _words(text: str) -> list[tuple[str, str]]:
    """(lower-cased, as written) for each word, a possessive "'s" left out."""
    found = []
    for word in _WORD.findall(text):
        if word.lower().endswith("'s"):
            word = word[:-2]
        word = word.strip("'-")
        found.append((word.lower(), word))
    return found


def _names(texts: Iterable[str]) -> set[str]:
    """Capitalised words that do not open a sentence ("John", "Max"), and speakers."""
    found: set[str] = set()
    for text in texts:
        found.update(m.lower() for m in _SPEAKER.findall(text))
        for match in _CAPITALISED.finditer(text):
            before = text[max(0, match.start() - 8) : match.start()].rstrip(" \t\"'“‘")
            if before and before[-1] not in _OPENERS:
                found.add(match.group(0).lower())
    return found


def check_detail(
    question: str,
    evidence: list[tuple[int, str]],
    lexicon: Lexicon | None = None,
    cousin_kinds: frozenset[str] | None = None,
) -> Misattribution | None:
    """Whether ``evidence`` ((memory id, text shown) pairs, best first) names another of the kind
    of thing the question asks about, and never that thing (see the module's doc).  None when
    the lexicon is not installed."""
    from secondme.lexicon import load
    from secondme.store.memories import STOPWORDS

    if cousin_kinds is None:
        cousin_kinds = COUSIN_KINDS
    if not evidence or _HYPOTHETICAL.search(question):
        return None
    lexicon = lexicon or load()
    if lexicon is None:
        return None
    names = _names([question, *(text for _, text in evidence)])

    def concrete(word: str) -> Sense | None:
        if word in STOPWORDS or len(word) < 3:
            return None
        sense = lexicon.sense(word)
        if sense is None or sense.kind not in CONCRETE:
            return None
        # A capitalised word is a name unless WordNet places it ("France", "Barcelona").
        if word in names and sense.kind != "noun.location":
            return None
        return sense

    # Each sense the evidence names, once: the first memory and word naming it, and what it is
    # a kind of (up to GENERAL_DEPTH steps).
    named: dict[int, tuple[int, str, Sense, set[int]]] = {}
    said: set[str] = set()
    for memory_id, text in evidence:
        said |= stems(text)
        for word, written in _words(text):
            sense = concrete(word)
            if sense is not None and sense.offset not in named:
                named[sense.offset] = (memory_id, written, sense, lexicon.ancestors(sense, GENERAL_DEPTH))
    for word, written in dict.fromkeys(_words(question)):
        sense = concrete(word)
        if sense is None or porter_stem(word) in said:
            continue
        up = lexicon.ancestors(sense, GENERAL_DEPTH)
        if any(
            offset == sense.offset or offset in up or sense.offset in above
            for offset, (*_, above) in named.items()
        ):
            continue  # the thing itself, or a more general or a more specific word for it
        for memory_id, other, other_sense, _above in named.values():
            if _relatives(lexicon, sense, other_sense, cousin_kinds):
                return Misattribution(asked_about=written, said_by=other, memory_id=memory_id, kind="detail")
    return None


def _relatives(lexicon: Lexicon, sense: Sense, other: Sense, cousin_kinds: frozenset[str]) -> bool:
    """Siblings (a parent in common: "pup" and "kitten"), or for ``cousin_kinds`` cousins too (a
    grandparent in common: "Rome", a capital, and "Barcelona", a city)."""
    if set(sense.hypernyms) & set(other.hypernyms):
        return True
    return (
        sense.kind in cousin_kinds
        and other.kind == sense.kind
        and bool(lexicon.ancestors(sense, 2) & lexicon.ancestors(other, 2))
    )


def check_excerpts(question: str, excerpts: list[Excerpt]) -> Misattribution | None:
    """:func:`check_detail` on what the prompt would show."""
    return check_detail(question, [(e.memory.id, e.text()) for e in excerpts])
