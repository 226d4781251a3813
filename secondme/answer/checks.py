"""Checks on a drafted answer: an answer about one person drawn from what another person said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from secondme.answer.citations import CITATION, IDK, content_words
from secondme.memory import Memory
from secondme.stemmer import porter_stem


@dataclass
class Misattribution:
    """An answer about one person drawn from what another person said of themselves."""

    asked_about: str
    said_by: str
    memory_id: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (inside ``mem ask --json``)."""
        return {"asked_about": self.asked_about, "said_by": self.said_by, "memory": self.memory_id}

    def explain(self) -> str:
        """The sentence that replaces the answer."""
        return f"{IDK}: the memories say that of {self.said_by}, not {self.asked_about} [{self.memory_id}]."


#: A line by the person asked about supports the answer when it shares at least this share of
#: the answer's own words that the best-matching line shares.
SUPPORT_SHARE = 0.75
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*")
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours)\b", re.IGNORECASE)


def speaker_lines(memory: Memory) -> list[tuple[str, str]]:
    """A chat memory as (speaker, text) lines; a line without a known speaker continues the last."""
    speakers = [str(s) for s in memory.metadata.get("speakers") or []]
    lines: list[tuple[str, str]] = []
    for line in memory.text.split("\n"):
        speaker = next((s for s in speakers if line.startswith(f"{s}: ")), None)
        if speaker is not None:
            lines.append((speaker, line[len(speaker) + 2 :]))
        elif lines:
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {line}")
    return lines


def _stems(text: str) -> set[str]:
    return {porter_stem(word) for word in content_words(text)}


def _first_name(speaker: str) -> str:
    return speaker.split()[0] if speaker.split() else speaker


def _speaks_of(name: str, text: str) -> bool:
    """True when ``text`` mentions ``name`` other than to address them ("Thanks, Ana!")."""
    for match in re.finditer(rf"\b{re.escape(name)}\b", text):
        if text[match.end() : match.end() + 1] not in (",", "!", "?"):
            return True
    return False


def check_attribution(question: str, answer: str, shown: list[Memory]) -> Misattribution | None:
    """Whether a chat-based answer about a named person rests on what someone else said.

    Applies when the question names exactly one chat participant (from the memories shown to
    the model) and speaks of nobody in the first person.  The answer's own words are those not
    already in the question, compared by stem.  The answer stands when a line said by that
    person, or speaking of them, shares at least :data:`SUPPORT_SHARE` as many of those words
    as the best-matching line does.  Every line shown to the model counts, not only the cited
    ones: small models often cite a neighbour of the memory they used.  Otherwise the answer is
    about someone else, and the best line's speaker is named: "What did Ana realise after the
    race?" answered from "Pedro: I realised ...".  Small models make that swap readily, and
    the prompt's rule alone does not stop them.
    """
    if _FIRST_PERSON.search(question):
        return None
    participants: dict[str, str] = {}
    for memory in shown:
        for speaker in memory.metadata.get("speakers") or []:
            participants.setdefault(_first_name(str(speaker)), str(speaker))
    words = set(_CAPITALISED.findall(question))
    named = [
        full
        for first, full in participants.items()
        if first in words or re.search(rf"\b{re.escape(full)}\b", question)
    ]
    if len(named) != 1:
        return None
    person = named[0]
    first = _first_name(person)
    # An answer that goes on to echo the transcript ("... Ana: Wow, well done!") is judged by
    # what it says before the echo.
    echo = re.search("|".join(rf"\b{re.escape(s)}: " for s in participants.values()), answer)
    said = answer[: echo.start()] if echo and echo.start() > 0 else answer
    own = _stems(CITATION.sub(" ", said)) - _stems(question) - _stems(first)
    if not own:
        return None
    scored = [
        (len(own & _stems(text)), speaker, text, memory.id)
        for memory in shown
        for speaker, text in speaker_lines(memory)
    ]
    top = max((overlap for overlap, *_ in scored), default=0)
    if not top:
        return None
    # Supported when a line by or about the person shares enough of the answer's own words
    # (a rambling answer may also repeat a neighbouring line by someone else).
    enough = max(1.0, top * SUPPORT_SHARE)
    if any(
        overlap >= enough and (speaker == person or _speaks_of(first, text))
        for overlap, speaker, text, _ in scored
    ):
        return None
    _, speaker, _, memory_id = next(line for line in scored if line[0] == top)
    return Misattribution(asked_about=first, said_by=_first_name(speaker), memory_id=memory_id)


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
