"""ChatGPT data export: ``conversations.json``.

The real export is a list of conversations, each with a ``mapping`` of nodes forming a tree:
every edit or regenerated answer starts a new branch.  The conversation the user last saw is the
path from ``current_node`` up through ``parent`` links, reversed; the other branches are
abandoned drafts and are not read.  Exports without ``current_node`` (older ones, hand-made
samples) use the most recent leaf instead.  A simpler list form, conversations with a flat
``messages`` list of ``{"role"/"author", "content", "create_time"}``, is accepted too.

System prompts, hidden nodes and tool output are skipped: they are plumbing, not conversation.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    as_dict,
    decode_text,
    from_epoch,
    head_text,
    read_bytes,
)
from secondme.ingest.sources.chats import finish

FORMAT = "chatgpt"

#: Speaker names for the standard roles; other roles keep their own name.
_ROLE_NAMES = {"user": "me", "assistant": "ChatGPT"}
_SKIPPED_ROLES = {"system", "tool"}


def detect(head: bytes, path: Path) -> bool:
    """A JSON list whose first conversation has a ``mapping`` (or chat-style ``messages``)."""
    text = head_text(head).lstrip()
    if not text.startswith("["):
        return False
    if '"mapping"' in text and ('"parts"' in text or '"author"' in text or '"children"' in text):
        return True
    # The flat form: conversations with role/content messages.
    return '"messages"' in text and '"role"' in text and '"content"' in text


def _content_text(content: Any) -> tuple[str, bool]:
    """The text of a message's content and whether it held non-text parts (images, files)."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, dict):
        return "", False
    has_media = False
    pieces: list[str] = []
    parts = content.get("parts")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                # Uploaded images and files appear as asset pointers; some carry text too.
                if isinstance(part.get("text"), str):
                    pieces.append(part["text"])
                else:
                    has_media = True
    elif isinstance(content.get("text"), str):  # "code", "execution_output"
        pieces.append(content["text"])
    return "\n".join(p for p in pieces if p).strip(), has_media


def _speaker(author: Any) -> str:
    if not isinstance(author, dict):
        return "unknown"
    name = author.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    role = author.get("role")
    if isinstance(role, str):
        return _ROLE_NAMES.get(role, role)
    return "unknown"


def _branch(mapping: dict[str, Any], current: Any) -> list[str]:
    """Node ids from the root to ``current`` (or to the newest leaf when it is missing)."""
    if not isinstance(current, str) or current not in mapping:

        def has_children(node: dict[str, Any]) -> bool:
            children = node.get("children")
            if not isinstance(children, list):
                return False
            return any(isinstance(c, str) and c in mapping for c in children)

        leaves = [key for key, node in mapping.items() if isinstance(node, dict) and not has_children(node)]
        if not leaves:
            return []

        def created(key: str) -> float:
            message = mapping[key].get("message") if isinstance(mapping[key], dict) else None
            value = message.get("create_time") if isinstance(message, dict) else None
            return float(value) if isinstance(value, (int, float)) else float("-inf")

        # max() keeps the first of equals; the last leaf in file order is the likelier latest.
        current = max(reversed(leaves), key=created)
    path: list[str] = []
    seen: set[str] = set()
    node_id: Any = current
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        path.append(node_id)
        node = mapping[node_id]
        node_id = node.get("parent") if isinstance(node, dict) else None
    path.reverse()
    return path


def _conversation_messages(
    conv: dict[str, Any], number: int, problems: list[ParseProblem]
) -> list[ChatMessage]:
    conv_id = conv.get("conversation_id") or conv.get("id") or str(number)
    title = conv.get("title")
    conversation = title.strip() if isinstance(title, str) and title.strip() else str(conv_id)
    fallback_time = from_epoch(conv.get("create_time"))

    entries: list[tuple[str, Any]] = []
    mapping = conv.get("mapping")
    if isinstance(mapping, dict):
        for node_id in _branch(mapping, conv.get("current_node")):
            node = mapping[node_id]
            entries.append((node_id, node.get("message") if isinstance(node, dict) else None))
    elif isinstance(conv.get("messages"), list):
        entries = [(str(i), m) for i, m in enumerate(conv["messages"])]
    else:
        problems.append(ParseProblem(f"conversation {conv_id}", "no mapping and no messages"))
        return []

    messages: list[ChatMessage] = []
    for node_id, raw in entries:
        if not isinstance(raw, dict):
            continue  # the root node of a mapping has no message
        author = raw.get("author")
        if author is None and isinstance(raw.get("role"), str):
            author = {"role": raw["role"], "name": raw.get("name")}
        role = author.get("role") if isinstance(author, dict) else None
        metadata = as_dict(raw.get("metadata"))
        if role in _SKIPPED_ROLES or metadata.get("is_visually_hidden_from_conversation"):
            continue
        text, has_media = _content_text(raw.get("content"))
        if not text and not has_media:
            continue
        timestamp: datetime | None = from_epoch(raw.get("create_time")) or fallback_time
        meta: dict[str, Any] = {"message_id": raw.get("id") or node_id, "role": role}
        if has_media:
            meta["media"] = True
        if isinstance(metadata.get("model_slug"), str):
            meta["model"] = metadata["model_slug"]
        messages.append(
            ChatMessage(
                conversation=conversation,
                speaker=_speaker(author),
                text=text,
                timestamp=timestamp,
                ref=f"{conv_id}/{node_id}",
                meta=meta,
            )
        )
    return messages


def parse_chatgpt(path: Path) -> ParseResult:
    """Parse a ChatGPT ``conversations.json`` export (mapping trees or flat message lists)."""
    try:
        data = json.loads(decode_text(read_bytes(path)))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{path.name} is not valid JSON: {exc}") from exc
    if isinstance(data, dict):  # a single conversation saved on its own
        data = [data]
    if not isinstance(data, list):
        raise ParseError(f"{path.name} is not a ChatGPT export (expected a list of conversations)")
    messages: list[ChatMessage] = []
    problems: list[ParseProblem] = []
    for number, conv in enumerate(data):
        if not isinstance(conv, dict):
            problems.append(ParseProblem(f"conversation #{number}", "not an object"))
            continue
        messages.extend(_conversation_messages(conv, number, problems))
    return finish(FORMAT, path, messages, problems)
