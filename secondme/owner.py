"""The owner of the memories: which questions ask about them, and whose words a memory holds.

A question in the first person ("where did I ...", "my dog") asks what the owner said or did,
and the owner's own chat messages answer it more often than what others replied.  A question
about what someone else said ("you told me", "in our previous chat") asks the opposite, even
though it says "me".  Chat exports that mark the owner call them "me" (ChatGPT, iMessage) or
"user" (chats with an assistant); WhatsApp, Telegram, Slack and Messenger name everyone, the
owner included, so there the owner's names come from the setting ``search.owner_names``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secondme.memory import Memory

#: The speaker names chat exports give the owner's own messages (compared in lower case).
OWNER_SPEAKERS = frozenset({"me", "user"})

_FIRST_PERSON = re.compile(r"\b(?:i|my|me|mine|myself)\b", re.IGNORECASE)
# What someone else said: "you told me", "the trail you recommended", "did he mention", "we
# talked about", "our previous conversation".  Past tense only: "can you suggest ..." is a
# request, not a question about an earlier reply.
_OTHERS_SAID = re.compile(
    r"\b(?:you|he|she|they)\s+(?:\w+\s+){0,2}?(?:told|said|suggested|mentioned|recommended|wrote"
    r"|gave|listed|shared|explained|described|provided)\b"
    r"|\bdid\s+(?:you|he|she|they)\s+(?:tell|say|suggest|mention|recommend|write|give|list|share"
    r"|explain|describe|provide)\b"
    r"|\bwe\s+(?:\w+\s+)?(?:talked|discussed|chatted)\b"
    r"|\bour\s+(?:previous\s+|last\s+|earlier\s+)?(?:conversation|chat|discussion)\b",
    re.IGNORECASE,
)


def about_the_owner(question: str) -> bool:
    """True for a question in the first person ("Where do I ...", "my dog") that asks what the
    owner said or did, not what someone else told them."""
    return bool(_FIRST_PERSON.search(question)) and not _OTHERS_SAID.search(question)


def owner_names(setting: str | Iterable[str]) -> frozenset[str]:
    """The names that stand for the owner, in lower case: "me", "user", and the names of the
    setting ``search.owner_names`` (comma-separated, "Ana Costa, Ana")."""
    names = setting.split(",") if isinstance(setting, str) else setting
    return OWNER_SPEAKERS | {" ".join(n.split()).lower() for n in names if n.strip()}


def others_share(memory: Memory, owner: frozenset[str] = OWNER_SPEAKERS) -> float | None:
    """The share (0..1, by characters) of a chat memory's text that others wrote: lines whose
    speaker is not the owner (``owner``: :func:`owner_names`).

    None where that is not known: a memory that is not a chat (no speakers), or a chat whose
    export never marks the owner's messages (a WhatsApp export names everyone, the owner
    included, by name) while no name of the owner is set.  Chats stored before ``owner_speaks``
    was recorded count as marked when the owner speaks in the memory itself.
    """
    speakers = [str(s) for s in memory.metadata.get("speakers") or []]
    if not speakers:
        return None
    marked = memory.metadata.get("owner_speaks")
    if marked is None:
        marked = any(s.lower() in OWNER_SPEAKERS for s in speakers)
    # With the owner's names set, a chat that names everyone tells whose words are whose.
    if not marked and owner == OWNER_SPEAKERS:
        return None
    total = others = 0
    # A long message is stored in parts; a part that starts inside a message has no speaker
    # line first: its text is taken as the first speaker's.
    current = speakers[0]
    for line in memory.text.split("\n"):
        speaker = next((s for s in speakers if line.startswith(f"{s}: ")), None)
        current = speaker if speaker is not None else current
        total += len(line)
        if " ".join(current.split()).lower() not in owner:
            others += len(line)
    return others / total if total else None
