"""WhatsApp "Export chat" text files, Android and iOS styles.

Android writes ``12/31/23, 9:15 PM - Name: text``; iOS writes ``[31.12.23, 21:15:02] Name: text``.
The date order follows the phone's locale and is not written anywhere, so it is worked out from
the whole file: a first component above 12 means day first, a second one above 12 means month
first.  Exports are sprinkled with invisible direction marks and narrow no-break spaces (before
AM/PM), which are removed before matching.  Lines that do not start a message continue the one
before; a line that looks like a message header but cannot be read is reported as a problem and
is *not* glued onto the previous message, where it would be put in the wrong person's mouth.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from secondme.ingest.sources.base import (
    ChatMessage,
    ParseError,
    ParseProblem,
    ParseResult,
    clean_invisible,
    decode_checked,
    head_text,
    looks_binary,
    read_bytes,
)
from secondme.ingest.sources.chats import finish

FORMAT = "whatsapp"

_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)(?:\s?(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?"
_ANDROID = re.compile(rf"^{_DATE},?\s{_TIME}\s[-–]\s(?P<rest>.*)$")
_IOS = re.compile(rf"^\[{_DATE},?\s{_TIME}\]\s(?P<rest>.*)$")
# Anything that starts like a header: a date and the beginning of a time.
_HEADERISH = re.compile(r"^\[?\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?\s+\d{1,2}[:.]\d{2}")

_MEDIA = re.compile(
    r"^<[^<>]*(?:omitted|omitido|omesso|ausgeschlossen|weggelassen|attached:)[^<>]*>$"
    r"|\b(?:image|video|audio|sticker|GIF|document|Contact card) omitted$"
    r"|\(file attached\)$",
    re.IGNORECASE,
)
_DELETED = {
    "this message was deleted",
    "you deleted this message",
    "diese nachricht wurde gelöscht",
    "du hast diese nachricht gelöscht",
    "se eliminó este mensaje",
    "eliminaste este mensaje",
}
_EDITED = "<This message was edited>"
_TITLE_PREFIXES = ("WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp-Chat mit ", "WhatsApp Chat ")


def _match_header(line: str) -> re.Match[str] | None:
    return _ANDROID.match(line) or _IOS.match(line)


def detect(head: bytes, path: Path) -> bool:
    """True when the first lines of the file are WhatsApp message headers."""
    text = clean_invisible(head_text(head))
    lines = [line for line in text.splitlines()[:40] if line.strip()]
    if not lines or not _HEADERISH.match(lines[0]):
        return False
    return any(_match_header(line) for line in lines)


def _date_order(dates: list[str], twelve_hour: bool) -> dict[str, str]:
    """Decide, per separator, whether dates are day-first ("dmy") or month-first ("mdy")."""
    evidence: dict[str, set[str]] = {}
    for raw in dates:
        sep = re.search(r"[./-]", raw)
        parts = re.split(r"[./-]", raw)
        if sep is None or len(parts) != 3 or len(parts[0]) == 4:
            continue  # year-first dates need no decision
        first, second = int(parts[0]), int(parts[1])
        bucket = evidence.setdefault(sep.group(), set())
        if first > 12 >= second:
            bucket.add("dmy")
        elif second > 12 >= first:
            bucket.add("mdy")
    seen_anywhere = set().union(*evidence.values()) if evidence else set()

    def decide(sep: str) -> str:
        own = evidence.get(sep, set())
        if len(own) == 1:
            return next(iter(own))
        if len(seen_anywhere) == 1:
            return next(iter(seen_anywhere))
        # No evidence: dotted dates are a day-first (European) habit; slashes with a 12-hour
        # clock are the US habit.
        if sep == "/" and twelve_hour:
            return "mdy"
        return "dmy"

    return {sep: decide(sep) for sep in "./-"}


def _build_date(raw: str, order: dict[str, str]) -> tuple[int, int, int] | None:
    sep_match = re.search(r"[./-]", raw)
    raw_parts = re.split(r"[./-]", raw)
    if sep_match is None or len(raw_parts) != 3:
        return None
    parts = [int(p) for p in raw_parts]
    if len(raw_parts[0]) == 4:
        year, month, day = parts
        candidates = [(year, month, day)]
    else:
        a, b, year = parts
        if len(raw_parts[2]) <= 2:
            year += 2000
        dmy, mdy = (year, b, a), (year, a, b)
        # Fall back to the other order when the chosen one gives an impossible date (a file
        # mixing locales, as copies from several phones can).
        candidates = [dmy, mdy] if order[sep_match.group()] == "dmy" else [mdy, dmy]
    for year, month, day in candidates:
        try:
            datetime(year, month, day)
        except ValueError:
            continue
        return year, month, day
    return None


def _build_time(raw: str, ampm: str | None) -> tuple[int, int, int] | None:
    parts = [int(p) for p in re.split(r"[:.]", raw)]
    hour, minute = parts[0], parts[1]
    second = parts[2] if len(parts) > 2 else 0
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _conversation_name(path: Path) -> str:
    name = path.stem
    if name == "_chat" and path.parent.name:  # iOS zips hold "_chat.txt" in a named folder
        name = path.parent.name
    for prefix in _TITLE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :].strip() or name
    return name


def _split_rest(rest: str) -> tuple[str | None, str]:
    """``Name: text`` -> (name, text); a system notice (no speaker) -> (None, text)."""
    index = rest.find(": ")
    if index > 0:
        name, text = rest[:index], rest[index + 2 :]
    elif rest.endswith(":") and len(rest) > 1:
        name, text = rest[:-1], ""
    else:
        return None, rest
    # Notices such as 'Ann changed the subject to "Trip: Lisbon"' contain ": " too; a real
    # speaker name has no quotes and is not a sentence.
    if any(q in name for q in '"“”«»') or len(name) > 80:
        return None, rest
    return name.lstrip("~").strip(), text


def parse_whatsapp(path: Path) -> ParseResult:
    """Parse a WhatsApp text export into messages and one memory per conversation window."""
    raw = read_bytes(path)
    text, encoding_problem = decode_checked(raw)
    if looks_binary(text):
        raise ParseError(f"{path.name} looks like a binary file, not a WhatsApp export")
    lines = [clean_invisible(line) for line in text.splitlines()]

    headers = {i: m for i, line in enumerate(lines) if (m := _match_header(line))}
    if not headers:
        raise ParseError(f"no WhatsApp message lines found in {path.name}")
    twelve_hour = any(m.group("ampm") for m in headers.values())
    order = _date_order([m.group("date") for m in headers.values()], twelve_hour)

    conversation = _conversation_name(path)
    messages: list[ChatMessage] = []
    problems: list[ParseProblem] = [encoding_problem] if encoding_problem else []
    current: ChatMessage | None = None
    orphaned = False  # the previous header could not be read; its continuation lines go too

    for index, line in enumerate(lines):
        where = f"line {index + 1}"
        match = headers.get(index)
        if match is None:
            if _HEADERISH.match(line):
                problems.append(ParseProblem(where, f"unreadable message header: {line[:80]!r}"))
                current, orphaned = None, True
            elif current is not None:
                current.text += "\n" + line
            elif orphaned and line.strip():
                problems.append(ParseProblem(where, "continues a message that could not be read"))
            elif line.strip():
                problems.append(ParseProblem(where, "text before the first message"))
            continue

        date = _build_date(match.group("date"), order)
        clock = _build_time(match.group("time"), match.group("ampm"))
        if date is None or clock is None:
            problems.append(ParseProblem(where, f"impossible date or time: {match.group(0)[:40]!r}"))
            current, orphaned = None, True
            continue
        orphaned = False
        speaker, body = _split_rest(match.group("rest"))
        meta: dict[str, object] = {}
        if speaker is None:
            speaker = "WhatsApp"
            meta["system"] = True
        current = ChatMessage(
            conversation=conversation,
            speaker=speaker,
            text=body,
            timestamp=datetime(*date, *clock),
            ref=where,
            meta=meta,
        )
        messages.append(current)

    for message in messages:
        _classify(message)
    return finish(FORMAT, path, messages, problems)


def _classify(message: ChatMessage) -> None:
    """Tidy the text and flag media, deleted and edited messages (after continuations)."""
    text = message.text.rstrip()
    if text.endswith(_EDITED):
        text = text[: -len(_EDITED)].rstrip()
        message.meta["edited"] = True
    message.text = text
    bare = text.strip()
    if bare.rstrip(".").lower() in _DELETED:
        message.meta["deleted"] = True
    elif _MEDIA.search(bare.split("\n", 1)[0]):
        message.meta["media"] = True
        # A media line alone stands for the attachment; with more lines, they are a caption.
        if "\n" not in bare:
            message.meta["placeholder"] = True
