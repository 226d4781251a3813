"""Counting time for the model: "how many days ago ...", "how long had I been ... when ...".

A 1.5B model reads dates well and counts days between them badly (asked how many days passed
between two dated memories, it answers a number that matches neither).  So for a question that
asks how much time, the prompt brings the count done here:

- each memory's age in the question's unit ("9 April 2023, 4 days ago") when the question
  counts back from today;
- the time between the two memories that best match the question's two events ("between the
  day I replaced my spark plugs and the day I ...", "since I started ... when I ..."), counted
  from their dates.

Only dates the memories carry are used; when the events cannot be told apart, no count is given
and the model reads the dates as before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from secondme import timeparse
from secondme.answer.evidence import stems
from secondme.answer.prompt import event_moment, memory_date
from secondme.memory import Memory

# The question's own words about counting, which say nothing about the events.
_COUNTING_WORDS = stems(
    "how many long days day weeks week months month years year passed pass had been taken take "
    "took it did does ago since between before after when first then"
)
_BETWEEN = re.compile(r"\bbetween\b(?P<a>.+?)\band\b(?P<b>.+)", re.IGNORECASE)
_BEFORE_AFTER = re.compile(
    r"\bhow\s+(?:many\s+\w+|long)\s+(?:before|after)\b(?P<a>.+?)\b(?:did|do|does|was|were|had|have|has)\b(?P<b>.+)",
    re.IGNORECASE,
)
_WHEN = re.compile(r"(?P<a>.+?)\b(?:when|by the time|until)\b(?P<b>.+)", re.IGNORECASE)
# Questions that count back from today.
_FROM_TODAY = re.compile(r"\b(?:ago|since|now|so far|have\s+i\s+been|has\s+it\s+been)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Gap:
    """The time between two memories, as the prompt states it."""

    first: Memory
    second: Memory
    text: str

    def line(self) -> str:
        """``Time between [3] (2 March 2023) and [9] (31 March 2023): 29 days.``"""
        return (
            f"Time between [{self.first.id}] ({memory_date(self.first)}) and "
            f"[{self.second.id}] ({memory_date(self.second)}): {self.text}."
        )


def two_events(question: str) -> tuple[str, str] | None:
    """The question's two events, when it asks for the time between them."""
    text = " ".join(question.split()).rstrip("?")
    for pattern in (_BETWEEN, _BEFORE_AFTER, _WHEN):
        if match := pattern.search(text):
            first, second = match.group("a"), match.group("b")
            if stems(first) - _COUNTING_WORDS and stems(second) - _COUNTING_WORDS:
                return first, second
    return None


def ages(question: str, memories: list[Memory], today: datetime, unit: str) -> dict[int, str]:
    """Each dated memory's age at ``today`` ("4 days ago"), for questions that count back from
    today; empty for other questions, and for memories dated after ``today``."""
    if not _FROM_TODAY.search(question):
        return {}
    out: dict[int, str] = {}
    for memory in memories:
        moment = event_moment(memory)
        if moment is not None and moment <= today:
            out[memory.id] = f"{timeparse.span_text(moment, today, unit)} ago"
    return out


def gap(question: str, texts: dict[int, str], memories: list[Memory], unit: str) -> Gap | None:
    """The time between the memories that best match the question's two events.

    ``texts`` are the memories' texts as the prompt shows them.  Each event is matched by the
    words it shares with a memory, rarer words counting more; the two events must match two
    different dated memories.
    """
    events = two_events(question)
    moments = {m.id: moment for m in memories if (moment := event_moment(m)) is not None}
    dated = [m for m in memories if m.id in moments]
    if events is None or len(dated) < 2:
        return None
    memory_stems = {m.id: stems(texts.get(m.id, m.text)) for m in dated}
    wanted = [stems(event) - _COUNTING_WORDS for event in events]
    frequency: dict[str, int] = {}
    for words in memory_stems.values():
        for word in words:
            frequency[word] = frequency.get(word, 0) + 1

    def score(event: set[str], memory: Memory) -> float:
        shared = event & memory_stems[memory.id]
        return sum(math.log(1 + len(dated) / frequency[w]) for w in shared)

    best: tuple[float, Memory, Memory] | None = None
    for a in dated:
        first = score(wanted[0], a)
        if first <= 0:
            continue
        for b in dated:
            # Two events on one day are one conversation's telling of both: the count between
            # the two memories would be 0 whatever the events' own dates were.
            if moments[b.id].date() == moments[a.id].date():
                continue
            second = score(wanted[1], b)
            if second > 0 and (best is None or first + second > best[0]):
                best = (first + second, a, b)
    if best is None:
        return None
    _, a, b = best
    start, end = moments[a.id], moments[b.id]
    earlier, later = (a, b) if start <= end else (b, a)
    return Gap(earlier, later, timeparse.span_text(start, end, unit))
