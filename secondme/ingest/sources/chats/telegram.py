"""Telegram Desktop exports: ``result.json`` (one chat or the full export) and ``messages.html``.

JSON: a single-chat export has ``messages`` at the top; the full export nests chats under
``chats.list`` (and ``left_chats.list``).  ``text`` is either a string or a list mixing strings
and entity objects (links, bold, mentions) that each carry their own ``text``.  ``date`` is the
exporter's local time and ``date_unixtime`` the same instant in UTC; together they give the real
UTC offset, so timestamps come out timezone-aware.

HTML: each ``div.message`` holds ``from_name``, a ``date`` whose ``title`` attribute is the full
time (with ``UTC±hh:mm`` in recent versions) and ``text``.  Consecutive messages by the same
person are marked ``joined`` and omit the name, so they keep the previous speaker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    decode_text,
    from_epoch,
    head_text,
    offset_from_local,
    read_bytes,
    read_head,
)
from secondme.ingest.sources.chats import finish

FORMAT_JSON = "telegram-json"
FORMAT_HTML = "telegram-html"

_MEDIA_KEYS = ("photo", "file", "media_type", "sticker_emoji", "location_information", "poll")


# ---------------------------------------------------------------------------------------------
# Detection


def detect(head: bytes, path: Path) -> bool:
    """True for a Telegram Desktop JSON or HTML export."""
    return detect_json(head, path) or detect_html(head, path)


def detect_json(head: bytes, path: Path) -> bool:
    """JSON with Telegram's keys near the top (single chat or full export)."""
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return False
    single = '"messages"' in text and ('"date_unixtime"' in text or '"from_id"' in text)
    single = single or ('"type": "personal_chat"' in text or '"type": "private_group"' in text)
    full = '"chats"' in text and ('"personal_information"' in text or '"about"' in text)
    return single or full


def detect_html(head: bytes, path: Path) -> bool:
    """HTML with Telegram's page structure."""
    text = head_text(head)
    lowered = text[:4096].lower()
    if "<html" not in lowered and "<!doctype html" not in lowered:
        return False
    return "page_wrap" in text and ("chat_page" in text or 'class="message' in text)


# ---------------------------------------------------------------------------------------------
# JSON


def _flatten_text(value: Any) -> str:
    """Telegram ``text``: a string, or a list of strings and ``{"type", "text"}`` entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def _json_time(raw: dict[str, Any]) -> datetime | None:
    local = None
    if isinstance(raw.get("date"), str):
        try:
            local = datetime.fromisoformat(raw["date"])
        except ValueError:
            local = None
    utc = from_epoch(raw.get("date_unixtime")) if raw.get("date_unixtime") is not None else None
    if local is not None and local.tzinfo is None and utc is not None:
        offset = offset_from_local(local, utc)
        if offset is not None:
            return utc.astimezone(offset)
    if utc is not None:
        return utc
    return local


def _chat_messages(chat: dict[str, Any], prefix: str, problems: list[ParseProblem]) -> list[ChatMessage]:
    name = chat.get("name")
    conversation = name if isinstance(name, str) and name else str(chat.get("id", "chat"))
    raw_messages = chat.get("messages")
    if not isinstance(raw_messages, list):
        problems.append(ParseProblem(prefix or conversation, "chat has no message list"))
        return []
    messages: list[ChatMessage] = []
    for position, raw in enumerate(raw_messages):
        if not isinstance(raw, dict):
            problems.append(ParseProblem(f"{prefix}message #{position}", "not an object"))
            continue
        message_id = raw.get("id", f"#{position}")
        where = f"{prefix}message {message_id}"
        meta: dict[str, Any] = {"message_id": message_id}
        timestamp = _json_time(raw)
        if timestamp is None:
            problems.append(ParseProblem(where, "no readable date"))
            continue
        text = _flatten_text(raw.get("text"))
        if raw.get("type") == "service":
            actor = raw.get("actor") or "Telegram"
            meta.update(system=True, action=raw.get("action"))
            speaker = str(actor)
            text = text or str(raw.get("action") or "")
        else:
            sender = raw.get("from")
            # Deleted accounts export with "from": null.
            speaker = sender if isinstance(sender, str) and sender else ""
            speaker = speaker or str(raw.get("from_id") or "Deleted Account")
        if any(raw.get(key) for key in _MEDIA_KEYS):
            meta["media"] = True
            meta["media_kind"] = raw.get("media_type") or next(key for key in _MEDIA_KEYS if raw.get(key))
        if raw.get("edited"):
            meta["edited"] = True
        if raw.get("reply_to_message_id") is not None:
            meta["reply_to"] = raw.get("reply_to_message_id")
        if raw.get("forwarded_from"):
            meta["forwarded_from"] = raw.get("forwarded_from")
        if not text and not meta.get("media") and not meta.get("system"):
            continue  # an empty message with nothing attached: nothing was said
        messages.append(
            ChatMessage(
                conversation=conversation,
                speaker=speaker,
                text=text,
                timestamp=timestamp,
                ref=where,
                meta=meta,
            )
        )
    return messages


def parse_telegram_json(path: Path) -> ParseResult:
    """Parse a Telegram Desktop ``result.json`` (one chat or the full account export)."""
    try:
        data = json.loads(decode_text(read_bytes(path)))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{path.name} is not a Telegram export (top level is not an object)")
    problems: list[ParseProblem] = []
    messages: list[ChatMessage] = []
    if isinstance(data.get("messages"), list):
        messages = _chat_messages(data, "", problems)
    else:
        chats: list[Any] = []
        for key in ("chats", "left_chats"):
            section = data.get(key)
            if isinstance(section, dict) and isinstance(section.get("list"), list):
                chats.extend(section["list"])
        if not chats:
            raise ParseError(f"{path.name} has neither messages nor chats.list")
        for number, chat in enumerate(chats):
            if not isinstance(chat, dict):
                problems.append(ParseProblem(f"chat #{number}", "not an object"))
                continue
            chat_id = chat.get("id", f"#{number}")
            messages.extend(_chat_messages(chat, f"chat {chat_id} ", problems))
    return finish(FORMAT_JSON, path, messages, problems)


# ---------------------------------------------------------------------------------------------
# HTML


class _Node:
    __slots__ = ("attrs", "children", "parent", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []
        self.parent = parent

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "br":
                parts.append("\n")
            else:
                parts.append(child.text())
        return "".join(parts)

    def find_child(self, cls: str) -> _Node | None:
        """The first direct child element carrying class ``cls``."""
        for child in self.children:
            if isinstance(child, _Node) and cls in child.classes:
                return child
        return None

    def iter(self) -> Iterator[_Node]:
        for child in self.children:
            if isinstance(child, _Node):
                yield child
                yield from child.iter()


_VOID = {"br", "img", "meta", "link", "hr", "input", "source", "area", "base", "col", "wbr"}


class _TreeBuilder(HTMLParser):
    """A forgiving element tree: enough structure to walk Telegram's export pages."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(_Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag is ignored.
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


_HTML_DATE = re.compile(
    r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*UTC\s*([+-])(\d{1,2}):?(\d{2}))?\s*$"
)


def _html_time(title: str) -> datetime | None:
    match = _HTML_DATE.match(title)
    if not match:
        return None
    day, month, year, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    tz = None
    if match.group(7):
        minutes = int(match.group(8)) * 60 + int(match.group(9))
        if minutes > 14 * 60:
            return None
        sign = -1 if match.group(7) == "-" else 1
        tz = timezone(timedelta(minutes=sign * minutes))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def _squash(text: str) -> str:
    """Collapse the export's indentation while keeping line breaks made with <br>."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def parse_telegram_html(path: Path) -> ParseResult:
    """Parse a Telegram Desktop ``messages.html`` page."""
    builder = _TreeBuilder()
    try:
        builder.feed(decode_text(read_bytes(path)))
        builder.close()
    except (AssertionError, ValueError) as exc:  # HTMLParser's own complaints
        raise ParseError(f"{path.name} is not readable HTML: {exc}") from exc
    conversation = path.stem
    for node in builder.root.iter():
        if "page_header" in node.classes:
            title = _squash(node.text())
            if title:
                conversation = title.split("\n")[0]
            break

    messages: list[ChatMessage] = []
    problems: list[ParseProblem] = []
    previous_speaker: str | None = None
    for node in builder.root.iter():
        classes = node.classes
        if node.tag != "div" or "message" not in classes:
            continue
        raw_id = node.attrs.get("id", "")
        message_id = raw_id.removeprefix("message") or "?"
        where = f"message {message_id}"
        if "service" in classes:
            previous_speaker = None  # a date divider: the next message names its sender again
            continue
        body = node.find_child("body")
        if body is None:
            problems.append(ParseProblem(where, "message without a body"))
            continue
        name_node = body.find_child("from_name")
        if name_node is not None:
            # Forwarded messages add a "date" span inside the name; the name comes first.
            speaker = _squash(name_node.text()).split("\n")[0]
        elif "joined" in classes and previous_speaker:
            speaker = previous_speaker
        else:
            problems.append(ParseProblem(where, "no sender name and nothing to inherit it from"))
            continue
        date_node = body.find_child("date")
        timestamp = _html_time(date_node.attrs.get("title", "")) if date_node else None
        if timestamp is None:
            problems.append(ParseProblem(where, "no readable date"))
            continue
        text_node = body.find_child("text")
        text = _squash(text_node.text()) if text_node is not None else ""
        meta: dict[str, Any] = {"message_id": int(message_id) if message_id.isdigit() else message_id}
        if body.find_child("media_wrap") is not None:
            meta["media"] = True
        if body.find_child("forwarded") is not None:
            meta["forwarded"] = True
            forwarded_text = body.find_child("forwarded")
            if not text and forwarded_text is not None:
                inner = forwarded_text.find_child("text")
                text = _squash(inner.text()) if inner is not None else ""
        previous_speaker = speaker
        if not text and not meta.get("media"):
            continue
        messages.append(
            ChatMessage(
                conversation=conversation,
                speaker=speaker,
                text=text,
                timestamp=timestamp,
                ref=where,
                meta=meta,
            )
        )
    return finish(FORMAT_HTML, path, messages, problems)


def parse_telegram(path: Path) -> ParseResult:
    """Parse a Telegram export, JSON or HTML, whichever the file is."""
    head = read_head(path)
    if head_text(head).lstrip()[:1] == "<":
        return parse_telegram_html(path)
    return parse_telegram_json(path)
