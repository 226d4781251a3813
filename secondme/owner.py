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


def _name(speaker: str) -> str:
    return " ".join(speaker.split()).lower()


def owner_names(setting: str) -> frozenset[str]:
    """The names that stand for the owner (:func:`is_owner`): "me", "user", and the names of the
    setting ``search.owner_names`` (comma-separated, "Ana Costa, Ana")."""
    return OWNER_SPEAKERS | {_name(n) for n in setting.split(",") if n.strip()}


def is_owner(speaker: str | None, owner: frozenset[str] = OWNER_SPEAKERS) -> bool:
    """Whether a chat speaker is the owner: one of ``owner``, in any case and spacing."""
    return speaker is not None and _name(speaker) in owner


def others_share(memory: Memory, owner: frozenset[str] = OWNER_SPEAKERS) -> float | None:
    """The share (0..1, by characters) of a chat memory's message text that others wrote:
    messages whose speaker is not the owner (``owner``: :func:`owner_names`).

    None where that is not known: a memory that is not a chat (no speakers), or a chat whose
    export never marks the owner's messages (a WhatsApp export names everyone, the owner
    included, by name) while no name of the owner is set.  Chats stored before ``owner_speaks``
    was recorded count as marked when the owner speaks in the memory itself.
    """
    lines = memory.chat_lines()
    if not lines:
        return None
    speakers = [str(s) for s in memory.metadata["speakers"]]
    marked = memory.metadata.get("owner_speaks")
    if marked is None:
        marked = any(is_owner(s) for s in speakers)
    # With the owner's names set, a chat that names everyone tells whose words are whose.
    if not marked and owner == OWNER_SPEAKERS:
        return None
    # A part of a long message that starts inside it has no speaker line: its text is taken as
    # the first speaker's (the window's speakers are listed in order of their first message).
    total = sum(len(text) for _, text in lines)
    others = sum(len(text) for speaker, text in lines if not is_owner(speaker or speakers[0], owner))
    return others / total if total else None
