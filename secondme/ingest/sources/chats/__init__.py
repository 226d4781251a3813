"""Chat exports: WhatsApp, Telegram, ChatGPT, Slack, Messenger and iMessage.

Each format module parses its file into :class:`ChatMessage` objects; this module groups them
into conversation windows and turns every window into one episodic memory.  Format modules are
imported lazily, so importing the package costs nothing until a chat is parsed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    iso,
)
from secondme.memory import MemoryType, NewMemory
from secondme.owner import is_owner

__all__ = [
    "CHAT_FORMATS",
    "SITTING_GAP",
    "ChatsSource",
    "detect_chat_format",
    "drafts_from_messages",
    "finish",
    "parse_chat",
    "render_message",
    "window_messages",
]

#: Format name -> module, in the order detection tries them (cheap, specific checks first).
CHAT_FORMATS: dict[str, str] = {
    "imessage": "imessage",
    "slack": "slack",
    "telegram": "telegram",
    "chatgpt": "chatgpt",
    "messenger": "messenger",
    "whatsapp": "whatsapp",
}


#: The most text one chat memory holds.  A few messages each: the embedder reads 256 tokens at
#: most, a short window is about one topic, and it fits the answer prompt without cutting.
WINDOW_CHARS = 400
#: A pause longer than this between two messages ends a sitting: the next message starts a new
#: window, and search does not treat the windows on either side as one exchange.
SITTING_GAP = timedelta(minutes=30)


def window_messages(
    messages: Iterable[ChatMessage],
    gap: timedelta = SITTING_GAP,
    max_chars: int | None = None,
) -> list[list[ChatMessage]]:
    """Group consecutive messages of one conversation into windows.

    A new window starts when the conversation changes, when more than ``gap`` passes between two
    timed messages, or when adding the next message would push the window's text past
    ``max_chars``.  A single message longer than ``max_chars`` gets a window of its own rather
    than being cut, so no message is split across memories.
    """
    max_chars = WINDOW_CHARS if max_chars is None else max_chars
    windows: list[list[ChatMessage]] = []
    current: list[ChatMessage] = []
    size = 0
    for message in messages:
        line_len = len(render_message(message)) + 1
        if current:
            last = current[-1]
            new_window = message.conversation != last.conversation or size + line_len > max_chars
            if not new_window and message.timestamp is not None and last.timestamp is not None:
                try:
                    new_window = abs(message.timestamp - last.timestamp) > gap
                except TypeError:
                    # One aware and one naive time (mixed export): only the size rule applies.
                    new_window = False
            if new_window:
                windows.append(current)
                current, size = [], 0
        current.append(message)
        size += line_len
    if current:
        windows.append(current)
    return windows


def render_message(message: ChatMessage) -> str:
    """One message as a line of memory text: ``Speaker: text`` (media shown as ``[media]``)."""
    text = message.text.strip()
    # "placeholder" marks text that only stands for the attachment ("<Media omitted>").
    if message.meta.get("media") and (not text or message.meta.get("placeholder")):
        text = "[media]"
    return f"{message.speaker}: {text}"


def _worth_remembering(message: ChatMessage) -> bool:
    # Deleted messages, system notices ("X joined the channel") and tapback reactions
    # ("Loved ...", which repeat another message) add nothing worth recalling; they stay in
    # ``ParseResult.messages`` for the record but make no memory.
    if message.meta.get("deleted") or message.meta.get("system") or message.meta.get("reaction"):
        return False
    return bool(message.text.strip()) or bool(message.meta.get("media"))


def drafts_from_messages(
    messages: Iterable[ChatMessage], source_path: Path | str, fmt: str
) -> list[NewMemory]:
    """One episodic memory per conversation window.

    The text is one ``Speaker: text`` line per message (no timestamps: the time goes into
    ``occurred_at`` and the metadata, where retrieval can filter on it).
    """
    drafts: list[NewMemory] = []
    kept = [m for m in messages if _worth_remembering(m)]
    # Whether the owner's own messages are marked ("me", "user") anywhere in the conversation:
    # only then does a window without them hold only others' words.
    owner_speaks = {m.conversation for m in kept if is_owner(m.speaker)}
    for window in window_messages(kept):
        first, last = window[0], window[-1]
        speakers: list[str] = []
        for message in window:
            if message.speaker not in speakers:
                speakers.append(message.speaker)
        drafts.append(
            NewMemory(
                text="\n".join(render_message(m) for m in window),
                type=MemoryType.EPISODIC,
                source_kind="chat",
                source_ref=f"{source_path}#{first.ref}..{last.ref}",
                occurred_at=iso(first.timestamp),
                actor=", ".join(speakers),
                tags=[fmt],
                metadata={
                    "format": fmt,
                    "conversation": first.conversation,
                    "messages": len(window),
                    "speakers": speakers,
                    "first_ref": first.ref,
                    "last_ref": last.ref,
                    "refs": [m.ref for m in window],
                    "owner_speaks": first.conversation in owner_speaks,
                    "start": iso(first.timestamp),
                    "end": iso(last.timestamp),
                },
            )
        )
    return drafts


def finish(fmt: str, path: Path, messages: list[ChatMessage], problems: list[ParseProblem]) -> ParseResult:
    """Build a chat ParseResult; a file that yielded no message at all is a ParseError."""
    if not messages:
        detail = f": {problems[0].where}: {problems[0].reason}" if problems else ""
        raise ParseError(f"no messages found in {path.name} ({fmt}){detail}")
    return ParseResult(
        format=fmt,
        drafts=drafts_from_messages(messages, path, fmt),
        messages=messages,
        problems=problems,
    )


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{CHAT_FORMATS[name]}")


def detect_chat_format(path: Path, head: bytes) -> str | None:
    """The chat format whose detector accepts this file, or None."""
    for name in CHAT_FORMATS:
        try:
            if _module(name).detect(head, path):
                return name
        except Exception:
            # A detector that trips over odd input must not stop the other formats being tried.
            continue
    return None


def parse_chat(path: Path, fmt: str | None = None) -> ParseResult:
    """Parse a chat export, detecting its format unless ``fmt`` names one."""
    from secondme.ingest.sources.base import read_head

    if fmt is None:
        fmt = detect_chat_format(path, read_head(path))
        if fmt is None:
            raise ParseError(
                f"{path.name} is not a chat export secondme knows",
                hint="supported: WhatsApp .txt, Telegram JSON/HTML, ChatGPT conversations.json, "
                "Slack export .zip, Messenger JSON, iMessage chat.db",
            )
    parser: Callable[[Path], ParseResult] = getattr(_module(fmt), f"parse_{CHAT_FORMATS[fmt]}")
    return parser(path)


class ChatsSource:
    """The ``chats`` source: every chat format behind one detector."""

    name = "chats"

    def can_parse(self, path: Path, head: bytes) -> bool:
        """True when one of the chat formats recognises the file."""
        return detect_chat_format(path, head) is not None

    def parse(self, path: Path) -> ParseResult:
        """Parse the file with the chat format that recognises it."""
        return parse_chat(path)
