"""Slack workspace export: a zip of ``channels.json``, ``users.json`` and one folder per channel
holding one ``YYYY-MM-DD.json`` file per day.

Messages name their author by user id; ``users.json`` (or, failing that, the ``user_profile``
copied into each message) gives the name.  ``ts`` is epoch seconds.  Message markup is turned
back into plain text: ``<@U123>`` becomes ``@Name``, ``<#C1|general>`` becomes ``#general`` and
``<https://x|label>`` becomes ``label (https://x)``.

A zip is opened with care: the member count and the total uncompressed size are capped before
anything is extracted, and every member is read with a byte limit, because sizes written in a
zip's directory can lie.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    as_dict,
    decode_text,
    from_epoch,
)
from secondme.ingest.sources.chats import finish

FORMAT = "slack"

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_MEMBER_BYTES = 64 * 1024 * 1024

_DAY_FILE = re.compile(r"^(?:.*/)?(?P<folder>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_META_FILES = ("channels.json", "groups.json", "mpims.json", "dms.json")
_SYSTEM_SUBTYPES = {
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "pinned_item",
    "bot_add",
    "bot_remove",
}


def detect(head: bytes, path: Path) -> bool:
    """A zip whose member names look like a Slack export (channels/users + day files)."""
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()[:MAX_MEMBERS]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    base = {PurePosixPath(n).name for n in names}
    has_meta = "users.json" in base or any(m in base for m in _META_FILES)
    return has_meta and any(_DAY_FILE.match(n) for n in names)


class _Reader:
    """Reads zip members against a byte budget: sizes in a zip's directory can lie."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.left = MAX_TOTAL_BYTES

    def read(self, info: zipfile.ZipInfo) -> bytes:
        with self.archive.open(info) as handle:
            data = handle.read(min(MAX_MEMBER_BYTES, self.left) + 1)
        if len(data) > MAX_MEMBER_BYTES:
            raise ParseError(f"{info.filename} in the Slack export is larger than allowed")
        self.left -= len(data)
        if self.left < 0:
            raise ParseError("the Slack export unpacks to more than allowed; refusing (zip bomb?)")
        return data

    def json(self, info: zipfile.ZipInfo) -> Any:
        return json.loads(decode_text(self.read(info)))


def _user_name(user: dict[str, Any]) -> str | None:
    profile = as_dict(user.get("profile"))
    for value in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


_MENTION = re.compile(r"<([@#!])([^<>|]+)(?:\|([^<>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto|ftp):[^<>|]+)(?:\|([^<>]*))?>")


def _plain(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """Slack markup to plain text (mentions, channel links, URLs, HTML escapes)."""

    def mention(match: re.Match[str]) -> str:
        kind, target, label = match.groups()
        if kind == "@":
            return "@" + (label or users.get(target, target))
        if kind == "#":
            return "#" + (label or channels.get(target, target))
        return "@" + (label or target.split("^")[0])  # <!here>, <!channel>, <!subteam^ID|name>

    def link(match: re.Match[str]) -> str:
        url, label = match.groups()
        return f"{label} ({url})" if label and label != url else url

    text = _LINK.sub(link, text)
    text = _MENTION.sub(mention, text)
    return html.unescape(text)


def parse_slack(path: Path) -> ParseResult:
    """Parse a Slack workspace export zip into one conversation per channel."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"{path.name} is not a readable zip file: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ParseError(
                f"{path.name} has {len(infos)} files; more than {MAX_MEMBERS} is refused",
                hint="a Slack export this large should be split, or it may not be an export",
            )
        total = sum(max(info.file_size, 0) for info in infos)
        if total > MAX_TOTAL_BYTES:
            raise ParseError(
                f"{path.name} would unpack to {total // (1024 * 1024)} MB; refusing (zip bomb?)",
                hint=f"the limit is {MAX_TOTAL_BYTES // (1024 * 1024)} MB uncompressed",
            )
        try:
            return _parse_archive(path, archive, infos)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            # A corrupt member, a bad CRC or an unsupported compression method.
            raise ParseError(f"{path.name}: damaged zip member: {exc}") from exc


def _parse_archive(path: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> ParseResult:
    problems: list[ParseProblem] = []
    reader = _Reader(archive)
    by_base: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if not info.is_dir() and info.filename.count("/") <= 1:
            by_base.setdefault(PurePosixPath(info.filename).name, info)

    users: dict[str, str] = {}
    if "users.json" in by_base:
        try:
            for user in reader.json(by_base["users.json"]):
                if isinstance(user, dict) and isinstance(user.get("id"), str):
                    name = _user_name(user)
                    if name:
                        users[user["id"]] = name
        except (ValueError, TypeError, RecursionError) as exc:
            problems.append(ParseProblem("users.json", f"unreadable: {exc}"))

    # Folder name -> display name; folders are named after channels, or by id for DMs.
    channels: dict[str, str] = {}
    folder_names: dict[str, str] = {}
    for meta_file in _META_FILES:
        if meta_file not in by_base:
            continue
        try:
            entries = reader.json(by_base[meta_file])
        except (ValueError, RecursionError) as exc:
            problems.append(ParseProblem(meta_file, f"unreadable: {exc}"))
            continue
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            cid, name = entry.get("id"), entry.get("name")
            if isinstance(cid, str) and isinstance(name, str):
                channels[cid] = name
                folder_names[name] = f"#{name}"
            elif isinstance(cid, str) and isinstance(entry.get("members"), list):
                people = [users.get(m, str(m)) for m in entry["members"]]
                folder_names[cid] = "DM " + ", ".join(people)

    day_files = sorted(
        (m.group("folder"), m.group("day"), info)
        for info in infos
        if (m := _DAY_FILE.match(info.filename)) and not info.is_dir()
    )
    if not day_files:
        raise ParseError(f"{path.name} has no channel day files (<channel>/YYYY-MM-DD.json)")

    # First pass: read every day file and learn names from the profiles copied into messages,
    # for users missing from users.json (guests, deactivated accounts, partial exports).
    raw_days: list[tuple[str, str, list[Any]]] = []
    for folder, day, info in day_files:
        ref_base = f"{folder}/{day}.json"
        try:
            raw_day = reader.json(info)
        except (ValueError, RecursionError) as exc:
            problems.append(ParseProblem(ref_base, f"unreadable JSON: {exc}"))
            continue
        if not isinstance(raw_day, list):
            problems.append(ParseProblem(ref_base, "not a list of messages"))
            continue
        raw_days.append((folder, ref_base, raw_day))
        for raw in raw_day:
            if isinstance(raw, dict) and isinstance(raw.get("user_profile"), dict):
                name = _user_name({"profile": raw["user_profile"]})
                if name and isinstance(raw.get("user"), str):
                    users.setdefault(raw["user"], name)

    messages: list[ChatMessage] = []
    for folder, ref_base, raw_day in raw_days:
        conversation = folder_names.get(folder, f"#{folder}")
        day_messages: list[ChatMessage] = []
        for index, raw in enumerate(raw_day):
            where = f"{ref_base}#{index}"
            if not isinstance(raw, dict):
                problems.append(ParseProblem(where, "not an object"))
                continue
            timestamp = from_epoch(raw.get("ts"))
            if timestamp is None:
                problems.append(ParseProblem(where, "no readable ts"))
                continue
            meta: dict[str, Any] = {"ts": raw.get("ts")}
            user_id = raw.get("user") or raw.get("bot_id")
            speaker = (
                users.get(str(user_id)) or raw.get("username") or (str(user_id) if user_id else "unknown")
            )
            subtype = raw.get("subtype")
            if subtype in _SYSTEM_SUBTYPES:
                meta["system"] = True
            if subtype:
                meta["subtype"] = subtype
            if user_id:
                meta["user_id"] = user_id
            if raw.get("files"):
                meta["media"] = True
            if raw.get("thread_ts") and raw.get("thread_ts") != raw.get("ts"):
                meta["thread_ts"] = raw.get("thread_ts")
            text_value = raw.get("text")
            text = _plain(text_value, users, channels) if isinstance(text_value, str) else ""
            if not text and not meta.get("media"):
                continue  # e.g. an empty edit notice: nothing was said
            day_messages.append(
                ChatMessage(
                    conversation=conversation,
                    speaker=str(speaker),
                    text=text,
                    timestamp=timestamp,
                    ref=where,
                    meta=meta,
                )
            )
        day_messages.sort(key=lambda m: float(m.meta["ts"]))
        messages.extend(day_messages)
    return finish(FORMAT, path, messages, problems)
