"""Knowledge updates: older statements of a value the question asks about now are set aside.

"What is my cholesterol?" with "cholesterol 210" (July) and "cholesterol down to 185"
(November) both in the evidence: the rules say the newest holds, yet the default 1.5B model
answers from the memory that repeats the question's words best, whatever its date or place in
the list (measured with ``bench/updates_probe.py``: 210, Carla for the manager, the older
personal best).  So for a question about the current state of one thing, the evidence keeps
only the newest of the memories that bear on it as strongly as the best one does; those from
an earlier sitting are *superseded* and stay out of the prompt (``mem ask --json`` lists them).

It applies to a question that asks for the newest (:attr:`QuestionTime.order` ``"latest"``)
about one thing: in the first person or with "currently"/"now", opening with a question word,
and not asking for a total, a comparison or a list across memories ("total", "compared to",
"both", "all the", "What books have I read?").  Third-person questions about a chat's
participants in the present tense ("What do Melanie's kids like?") are mostly lists gathered
across sessions and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from secondme.answer.evidence import Excerpt, asks_for_several
from secondme.answer.prompt import in_time_order
from secondme.owner import about_the_owner
from secondme.retrieve import memory_moment
from secondme.timeparse import QuestionTime

#: A memory bears on the question "as strongly" when its best unit scores at least this share of
#: the best unit of all the evidence.
STRONG_SHARE = 0.75
#: Statements closer in time than this are one sitting (one conversation), not an update.
SITTING = timedelta(hours=1)
#: An older memory this similar (cosine of the embeddings) to one of the strong ones states the
#: same thing in other words ("Down to 78 kg on the scale." beside "Weighed in at 76 kg.": 0.75;
#: same-thing pairs of ``bench/updates_probe.py`` score 0.37-0.88, different things at most
#: 0.56) and is superseded with them, though it repeats fewer of the question's words.
SAME_THING = 0.6

_QUESTION_WORD = re.compile(r"^\W*(?:what|what's|who|who's|where|where's|which|when|how)\b", re.IGNORECASE)
_NOW = re.compile(r"\b(?:currently|current|now|at the moment|these days|still)\b", re.IGNORECASE)
# A question that gathers over several memories: sums, comparisons, lists, "each" and "both".
_GATHERS = re.compile(
    r"\b(?:total|sum|combined|altogether|in all|together|compared|comparison|difference|"
    r"more|less|fewer|than|between|each|every|both|all|list|simultaneously|so far|ever)\b",
    re.IGNORECASE,
)


_HOW_MUCH = re.compile(r"^\W*how\s+(?:many|much)\b", re.IGNORECASE)
# "How long have I had my car?", "How long has Caroline had her current group of friends?": a
# span since something began, which the older statements tell ("I've known these friends for 4
# years").  "How long is my commute now?" asks for a current value.
_HOW_LONG_SINCE = re.compile(r"^\W*how\s+long\s+(?:have|has|had)\b", re.IGNORECASE)
# A stated amount: "4 times", "four projects", "twice", "my fifth painting".
_AMOUNT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|once|twice|"
    r"second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|dozen)\b",
    re.IGNORECASE,
)


def asks_current_value(question: str, when: QuestionTime | None) -> bool:
    """True for a question about the current state of one thing ("What is my rent?", "When did
    I last see Ana?", "Where is the painting hanging now?")."""
    if when is None or when.order != "latest":
        return False
    if not _QUESTION_WORD.match(question) or _GATHERS.search(question) or _HOW_LONG_SINCE.match(question):
        return False
    if asks_for_several(question):
        return False  # "What books have I read?": every one, not the newest
    return about_the_owner(question) or bool(_NOW.search(question))


def _same_things(
    strong: list[Excerpt], others: list[Excerpt], embed: Callable[[list[str]], Any] | None
) -> list[Excerpt]:
    """Of ``others``, those that say the same as one of ``strong`` (:data:`SAME_THING`)."""
    if embed is None or not others:
        return []
    vectors = embed([e.text() for e in strong + others])
    similar = vectors[len(strong) :] @ vectors[: len(strong)].T
    return [e for e, row in zip(others, similar, strict=True) if float(row.max()) >= SAME_THING]


def _strength(excerpt: Excerpt) -> float:
    return max((unit.score for unit in excerpt.units), default=0.0)


def _older(excerpt: Excerpt, newest: Excerpt) -> bool:
    before, after = memory_moment(excerpt.memory), memory_moment(newest.memory)
    if before is None or after is None:
        return False
    try:
        return after - before >= SITTING
    except TypeError:  # one with a time zone, one without: not comparable
        return False


def drop_superseded(
    question: str,
    when: QuestionTime | None,
    excerpts: list[Excerpt],
    embed: Callable[[list[str]], Any] | None = None,
) -> tuple[list[Excerpt], list[Excerpt]]:
    """(kept, superseded): for a question about a current value (:func:`asks_current_value`),
    the memories that bear on it as strongly as the best one and are at least :data:`SITTING`
    older than the newest of them; else nothing is superseded.  Events (dated when they
    happened) are compared with events, facts (dated when they were noted) with facts.

    ``embed`` (texts to unit vectors) adds older memories that say the same as a strong one in
    other words (:data:`SAME_THING`): they are superseded too, but never become the newest."""
    if len(excerpts) < 2 or not asks_current_value(question, when):
        return excerpts, []
    top = max(_strength(e) for e in excerpts)
    if top <= 0:
        return excerpts, []
    comparable = excerpts
    if _HOW_MUCH.match(question):
        # "How many books have I read?" counts separate events; only statements of an amount
        # ("I've worn them 4 times", "my fifth project") update each other.
        comparable = [e for e in excerpts if _AMOUNT.search(e.text())]
    strong = [e for e in comparable if _strength(e) >= STRONG_SHARE * top]
    # Events (dated when they happened) update events, and facts (dated when they were noted)
    # update facts: a phone number noted today does not replace the visits to the dentist.
    groups = {dated: [e for e in strong if e.memory.is_event is dated] for dated in (True, False)}
    if all(len(group) < 2 for group in groups.values()):
        return excerpts, []
    chosen = {id(e) for e in strong}
    alike = _same_things(strong, [e for e in comparable if id(e) not in chosen], embed)
    superseded: list[Excerpt] = []
    for dated, group in groups.items():
        if len(group) < 2:
            continue
        # The order the prompt lists them in: by when they happened, else when they were noted.
        newest = in_time_order([e.memory for e in group], newest_first=True)[0]
        newest_excerpt = next(e for e in group if e.memory is newest)
        # Only what is at least an hour older: the messages of one sitting (a chat is stored in
        # windows) are not updates of each other ("a collar for a Golden Retriever like Max",
        # then "a nylon collar for Max": the second does not replace the breed).
        older = group + [e for e in alike if e.memory.is_event is dated]
        superseded += [e for e in older if e is not newest_excerpt and _older(e, newest_excerpt)]
    if not superseded:
        return excerpts, []
    gone = {id(e) for e in superseded}
    return [e for e in excerpts if id(e) not in gone], superseded
