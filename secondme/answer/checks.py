"""Checks on answers about chat participants: what the memories tell of one person is not
answered for another, before the model runs (:func:`check_subject`) and after it
(:func:`check_attribution`)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from secondme.answer.citations import CITATION, IDK
from secondme.answer.evidence import stems
from secondme.memory import Memory


@dataclass
class Misattribution:
    """Why a question is declined: the memories tell it of someone else (``kind`` "person":
    :func:`check_subject`, :func:`check_attribution`), or name another thing of the kind asked
    about and never the thing itself (``kind`` "detail": a "pup", not a "kitten";
    :func:`secondme.answer.details.check_detail`)."""

    asked_about: str
    said_by: str
    memory_id: int
    kind: Literal["person", "detail"] = "person"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (inside ``mem ask --json``)."""
        return {
            "asked_about": self.asked_about,
            "said_by": self.said_by,
            "memory": self.memory_id,
            "kind": self.kind,
        }

    def reason(self, memories: str = "the memories") -> str:
        """What the memories say instead: "the memories say that of Pedro, not Ana"."""
        if self.kind == "detail":
            return f'{memories} mention "{self.said_by}", not "{self.asked_about}"'
        return f"{memories} say that of {self.said_by}, not {self.asked_about}"

    def explain(self) -> str:
        """The sentence that replaces the answer."""
        return f"{IDK}: {self.reason()} [{self.memory_id}]."


#: A sentence about the person asked about supports the answer when it shares at least this share of
#: the answer's own words that the best-matching sentence shares.
SUPPORT_SHARE = 0.75
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*")
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Where a sentence that opens with "you" goes on to a clause of its own: "You mentioned your work
# at the shelter, and it made me think I could help" tells of the one addressed, then of the
# speaker.
_OPENS_WITH_YOU = re.compile(r"\W*(?:you|your)\b", re.IGNORECASE)
_NEXT_CLAUSE = re.compile(r"[,;]\s+(?=(?:and|so|but)\s)|\s+(?=(?:and|so|but)\s+(?:i|we|it)\b)", re.IGNORECASE)
# "you're", "you've" match at "you" ("'" ends a word), as "I'm" matches the first person at "I".
_ADDRESSEE = re.compile(r"\b(?:you|your|yours|yourself|ya|u)\b", re.IGNORECASE)
# A name right before one of these calls someone rather than speaks of them ("Thanks, Ana!").
_ADDRESS_MARKS = (",", "!", "?")
# A capitalised word that calls someone ("Wow, Mel, ...", "Congrats, Jon!").
_VOCATIVE = re.compile(rf"\b([A-Z][\w'-]*)[{''.join(_ADDRESS_MARKS)}]")


def speaker_lines(memory: Memory) -> list[tuple[str, str]]:
    """A chat memory's messages as (speaker, text) (:meth:`Memory.chat_lines`), without the text
    of a part that starts inside a message, whose speaker is not known."""
    return [(speaker, text) for speaker, text in memory.chat_lines() if speaker is not None]


def _sentences(text: str) -> list[str]:
    """A message's sentences, with a sentence that opens with "you" cut after its first clause."""
    found: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if _OPENS_WITH_YOU.match(sentence):
            found.extend(_NEXT_CLAUSE.split(sentence, maxsplit=1))
        else:
            found.append(sentence)
    return found


def _first_name(speaker: str) -> str:
    return speaker.split()[0] if speaker.split() else speaker


def _speaks_of(name: str, text: str) -> bool:
    """True when ``text`` mentions ``name`` other than to address them ("Thanks, Ana!")."""
    for match in re.finditer(rf"\b{re.escape(name)}\b", text):
        if text[match.end() : match.end() + 1] not in _ADDRESS_MARKS:
            return True
    return False


def _called(sentence: str, speaker: str, participants: set[str]) -> set[str]:
    """The participants a sentence calls by name ("Wow, Mel, what a trip!", "Congrats, Jon!"):
    their first name, or its first three letters or more, before a comma or "!"."""
    words = set(_VOCATIVE.findall(sentence))
    return {
        p
        for p in participants - {speaker}
        if any(w == _first_name(p) or (len(w) >= 3 and _first_name(p).startswith(w)) for w in words)
    }


def _about(speaker: str, sentence: str, participants: set[str], person: str) -> set[str]:
    """Whom a chat sentence tells of: its speaker ("I ran a race"), or in a chat of two the one it
    addresses ("you ran a race"), or without "I" and "you" the one it calls by name ("Wow,
    Mel, family love is the best!" is said of Mel's family), and the person asked about when it
    speaks of them."""
    others = participants - {speaker}
    first, second = bool(_FIRST_PERSON.search(sentence)), bool(_ADDRESSEE.search(sentence))
    if second and not first:
        about = others  # in a group chat "you" may be anyone: everyone but the speaker
    elif not first and not second:
        about = _called(sentence, speaker, participants) or {speaker}
    else:
        about = {speaker}
    if _speaks_of(_first_name(person), sentence):
        about = about | {person}
    return about


def _asked_about(question: str, memories: list[Memory]) -> tuple[str, dict[str, str]] | None:
    """The one chat participant a question names, with every participant of ``memories`` (by
    first name); None when it names none or several, or speaks in the first person."""
    if _FIRST_PERSON.search(question):
        return None
    participants: dict[str, str] = {}
    for memory in memories:
        for speaker in memory.metadata.get("speakers") or []:
            participants.setdefault(_first_name(str(speaker)), str(speaker))
    words = set(_CAPITALISED.findall(question))
    named = {
        full
        for first, full in participants.items()
        if first in words or re.search(rf"\b{re.escape(full)}\b", question)
    }
    return (named.pop(), participants) if len(named) == 1 else None


def check_attribution(question: str, answer: str, shown: list[Memory]) -> Misattribution | None:
    """Whether a chat-based answer about a named person rests on what someone else said.

    Applies when the question names exactly one chat participant (from the memories shown to
    the model) and speaks of nobody in the first person.  The answer's own words are those not
    already in the question, compared by stem.  The answer stands when a sentence that tells of
    that person (see :func:`_about`: said by them in the first person, addressed to them, or
    naming them) shares at least :data:`SUPPORT_SHARE` as many of those words as the
    best-matching sentence does; a reply that echoes the other's words ("Great that you're
    prioritising self-care") tells of the other.  Every memory shown to the model counts, not
    only the cited ones: small models often cite a neighbour of the memory they used.
    Otherwise the answer is about someone else, and the one the best sentence tells of is
    named: "What did Ana realise after the race?" answered from "Pedro: I realised ...".  Small
    models make that swap readily, and the prompt's rule alone does not stop them.
    """
    asked = _asked_about(question, shown)
    if asked is None:
        return None
    person, participants = asked
    first = _first_name(person)
    # An answer that goes on to echo the transcript ("... Ana: Wow, well done!") is judged by
    # what it says before the echo.
    echo = re.search("|".join(rf"\b{re.escape(s)}: " for s in participants.values()), answer)
    said = answer[: echo.start()] if echo and echo.start() > 0 else answer
    own = stems(CITATION.sub(" ", said)) - stems(question) - stems(first)
    if not own:
        return None
    everyone = set(participants.values())
    scored = [
        (len(own & stems(sentence)), _about(speaker, sentence, everyone, person), memory.id)
        for memory in shown
        for speaker, text in speaker_lines(memory)
        for sentence in _sentences(text)
    ]
    top = max((overlap for overlap, *_ in scored), default=0)
    if not top:
        return None
    # Supported when a sentence about the person shares enough of the answer's own words (a
    # rambling answer may also repeat a neighbouring sentence about someone else).
    enough = max(1.0, top * SUPPORT_SHARE)
    if any(overlap >= enough and person in about for overlap, about, _ in scored):
        return None
    _, about, memory_id = next(line for line in scored if line[0] == top)
    return Misattribution(asked_about=first, said_by=_first_name(sorted(about)[0]), memory_id=memory_id)


#: The subject check (:func:`check_subject`) declines when the best sentence about someone else
#: weighs at least this much (summed IDF of the question's words it holds) ...
SUBJECT_MIN_WEIGHT = 5.0
#: ... and the best sentence about the person asked about weighs less than this share of it.
#: Both chosen by cross-validation over LoCoMo's conversations (``bench/subject_cv.py``).
SUBJECT_SHARE = 0.7


@dataclass
class SubjectSupport:
    """How well the memories tell the question's words of the person asked about, and of others."""

    person: str
    """The chat participant the question names."""
    own: float
    """The weight of the best sentence about that person (0 when none holds a question word)."""
    other: float
    """The weight of the best sentence about someone else."""
    other_person: str | None
    other_memory: int | None

    def declines(self, min_weight: float = SUBJECT_MIN_WEIGHT, share: float = SUBJECT_SHARE) -> bool:
        """True when the best sentence about someone else weighs at least ``min_weight`` and the
        best about the person asked less than ``share`` of it."""
        return self.other_memory is not None and self.other >= min_weight and self.own < self.other * share


def subject_support(question: str, memories: list[Memory]) -> SubjectSupport | None:
    """Weigh the sentences of chat memories that hold the question's words by whom they tell of.

    Applies when the question names exactly one participant of the chats (and nobody in the
    first person).  Each sentence that states something (not a question) scores the summed IDF,
    over these memories' sentences, of the question's words it holds (names aside).  A sentence
    tells of its speaker when it speaks in the first person, of the other participant when it
    addresses them ("you"), and of the person asked about when it names them.
    """
    asked = _asked_about(question, memories)
    if asked is None:
        return None
    person, participants = asked
    if len(set(participants.values())) < 2:
        return None
    wanted = stems(question)
    for name in participants:
        wanted -= stems(name)
    if not wanted:
        return None
    sentences = [
        (memory.id, speaker, sentence, stems(sentence))
        for memory in memories
        for speaker, text in speaker_lines(memory)
        for sentence in _sentences(text)
    ]
    frequency = Counter(word for *_, words in sentences for word in words & wanted)
    idf = {word: math.log((len(sentences) + 1) / (frequency[word] + 0.5)) for word in wanted}
    support = SubjectSupport(person, 0.0, 0.0, None, None)
    everyone = set(participants.values())
    for memory_id, speaker, sentence, words in sentences:
        held = words & wanted
        if not held or sentence.rstrip().endswith("?"):
            continue
        weight = sum(idf[word] for word in held)
        about = _about(speaker, sentence, everyone, person)
        if person in about:
            support.own = max(support.own, weight)
        elif weight > support.other:
            support.other, support.other_memory, support.other_person = weight, memory_id, sorted(about)[0]
    return support


def check_subject(
    question: str,
    memories: list[Memory],
    min_weight: float = SUBJECT_MIN_WEIGHT,
    share: float = SUBJECT_SHARE,
) -> Misattribution | None:
    """Whether the memories tell what the question asks of one person only of someone else.

    Checked before the model is asked: "What did Ana realise after her charity race?" when
    the chat holds "Pedro: I ran a charity race ..." and nothing of Ana's race.  Declines when
    the best sentence about someone else weighs at least ``min_weight`` and the best about the
    person asked about less than ``share`` of it (see :func:`subject_support`).
    """
    support = subject_support(question, memories)
    if support is None or not support.declines(min_weight, share):
        return None
    return Misattribution(
        asked_about=_first_name(support.person),
        said_by=_first_name(str(support.other_person)),
        memory_id=int(support.other_memory or 0),
    )


# A memory's prompt header the model copied: ``[108] (20 July 2023, episodic, chat) "``.
_ECHOED_HEADER = re.compile(r'^\[(\d+)\]\s*\([^()\n]*\)\s*"?')


def tidy_answer(text: str) -> str:
    """The model's answer without a memory header it copied from the prompt.

    Small models sometimes answer by repeating a memory line as the prompt shows it; the answer
    keeps the memory's words and cites it: ``[108] (20 July 2023, episodic, chat) "Melanie: ..."``
    becomes ``Melanie: ... [108]``.
    """
    match = _ECHOED_HEADER.match(text)
    if match is None:
        return text
    body = text[match.end() :].strip().rstrip('"').strip()
    return f"{body} [{match.group(1)}]" if body else f"[{match.group(1)}]"


def says_nothing(text: str) -> bool:
    """True when the answer holds no word or number once its citations are gone ("[31].")."""
    return not re.search(r"\w", CITATION.sub(" ", text))
