"""Choosing a memory type from the text alone, with simple rules (no model: ``mem add`` stays fast)."""

from __future__ import annotations

import re

from secondme.memory import MemoryType

_SECRET = re.compile(
    r"\b(?:password|passwd|passcode|pin(?: code)?|api[ _-]?key|secret|token|private key|seed phrase"
    r"|recovery code|iban|credit card|cvv|ssn|social security)\b"
    r"|\b(?:sk|pk|ghp|gho|xox[bp])[-_][A-Za-z0-9_-]{12,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:\d[ -]?){13,19}\b",
    re.IGNORECASE,
)
_IDENTITY = re.compile(
    r"^\s*(?:my name is|i am (?:a|an)\b|i'm (?:a|an)\b|i was born|i live in|i work (?:as|at)"
    r"|i prefer|i am allergic|i'm allergic|i speak|my pronouns|call me)\b",
    re.IGNORECASE,
)
_RESOURCE = re.compile(
    r"https?://\S+|(?:^|\s)(?:~|\.{0,2})/[\w.-]+/\S+|\b\w+\.(?:pdf|docx?|xlsx?|png|jpe?g|md|txt)\b",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(?:yesterday|today|tonight|this morning|last (?:week|month|year|night|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|\d{4}-\d{2}-\d{2}|ago)\b"
    r"|^\s*(?:met|saw|went|visited|moved|had|bought|called|started|finished|attended|travelled|traveled"
    r"|flew|ate|watched|read|learned|got|gave|took|spoke|talked)\b",
    re.IGNORECASE,
)


def classify(text: str, has_time: bool = False) -> MemoryType:
    """The likeliest type for ``text``; ``has_time`` says an event time was given."""
    if _SECRET.search(text):
        return MemoryType.VAULT
    if _IDENTITY.search(text):
        return MemoryType.CORE
    if _RESOURCE.search(text):
        return MemoryType.RESOURCE
    if has_time or _EVENT.search(text):
        return MemoryType.EPISODIC
    return MemoryType.SEMANTIC
