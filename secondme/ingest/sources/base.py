"""What every source produces, and the small helpers the parsers share.

A *source* turns one file into a :class:`ParseResult`: memory drafts ready for the store, the chat
messages they were built from (chats only), and a list of :class:`ParseProblem` for every part of
the file that could not be understood.  Problems are recorded, never silently dropped, so that
``mem ingest`` can tell the user what was skipped and where.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from secondme.errors import SecondmeError
from secondme.memory import NewMemory

#: How much of a file detection looks at.
HEAD_BYTES = 8192

#: Text files larger than this are refused rather than read into memory whole.
MAX_TEXT_BYTES = 64 * 1024 * 1024

#: Seconds between the Unix epoch and Apple's (2001-01-01 UTC).
APPLE_EPOCH_OFFSET = 978_307_200


class ParseError(SecondmeError):
    """The whole file is unusable: wrong format, corrupt, too large, or unsafe to open."""


@dataclass
class ChatMessage:
    """One message of a chat export, before it is grouped into memories."""

    conversation: str
    """Chat title, channel or conversation id."""
    speaker: str
    text: str
    timestamp: datetime | None
    """Timezone-aware when the export says so, else naive local time."""
    ref: str
    """Where the message is inside the file, e.g. ``line 12`` or ``message 4711``."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Flags such as ``media``, ``deleted``, ``system`` and ids such as ``message_id``."""


@dataclass
class ParseProblem:
    """A part of a file that could not be parsed."""

    where: str
    reason: str


@dataclass
class ParseResult:
    """What a source made of one file."""

    format: str
    drafts: list[NewMemory] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


@runtime_checkable
class Source(Protocol):
    """A kind of input (notes, chats, screenshots) that can recognise and parse files."""

    name: str

    def can_parse(self, path: Path, head: bytes) -> bool:
        """True when ``head`` (the first bytes of ``path``) looks like this source's content."""
        ...

    def parse(self, path: Path) -> ParseResult:
        """Parse the file; raise :class:`ParseError` when it is unusable as a whole."""
        ...


# ---------------------------------------------------------------------------------------------
# Reading files


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (empty when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def read_bytes(path: Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """Read a whole file, refusing missing, unreadable or oversized ones with a ParseError."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ParseError(
                f"{path.name} is too large to parse ({size // (1024 * 1024)} MB)",
                hint=f"files up to {limit // (1024 * 1024)} MB are read",
            )
        with open(path, "rb") as handle:
            # Read one byte past the limit: the file may have grown since stat().
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise ParseError(f"{path.name} is too large to parse")
    return data


def decode_text(data: bytes) -> str:
    """Decode exported text: UTF-8 (with or without BOM), UTF-16 with a BOM, else lossy UTF-8.

    Exports are nearly always UTF-8; Windows tools sometimes write UTF-16 with a BOM.  Anything
    else is decoded with replacement characters rather than refused, so one bad byte does not
    cost the user a whole chat.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


# A well-formed UTF-8 multi-byte sequence: its presence says the file meant to be UTF-8.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def decode_checked(data: bytes) -> tuple[str, ParseProblem | None]:
    """Decode like :func:`decode_text`, and say so when the bytes were not valid UTF-8.

    A file with no well-formed UTF-8 sequence at all is legacy 8-bit text (notes written on
    Windows are usually Windows-1252): it is read that way, so "café" stays "café".  A UTF-8
    file with a few broken bytes keeps everything else and gets U+FFFD for those.  Either way
    the problem is returned, to be recorded rather than silently lost.
    """
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return decode_text(data), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if _UTF8_MULTIBYTE.search(data) is None:
        problem = ParseProblem(
            "encoding", f"not UTF-8 (first bad byte at offset {first_bad}); read as Windows-1252"
        )
        return data.decode("cp1252", errors="replace"), problem
    text = data.decode("utf-8", errors="replace")
    problem = ParseProblem(
        "encoding",
        f"invalid UTF-8 from byte offset {first_bad}: {text.count(chr(0xFFFD))} character(s) "
        "replaced with U+FFFD",
    )
    return text, problem


def binary_ratio(text: str) -> float:
    """Share of characters that do not belong in text: NUL, control characters, U+FFFD."""
    if not text:
        return 0.0
    sample = text[:65536]
    bad = 0
    for ch in sample:
        if ch in "\n\r\t\f":
            continue
        if ch == "\ufffd" or unicodedata.category(ch) == "Cc":
            bad += 1
    return bad / len(sample)


def looks_binary(text: str, threshold: float = 0.1) -> bool:
    """True when the decoded text is mostly junk: probably a binary file with a text name."""
    ratio = binary_ratio(text)
    # A NUL byte never occurs in real text, so a few of them are enough.
    if "\x00" in text[:4096] and ratio > 0.01:
        return True
    return ratio > threshold


def head_text(head: bytes) -> str:
    """The head of a file as text, for detection (the last character may be cut in half).

    Legacy 8-bit text is decoded as such, so that a short Latin-1 note full of accents is not
    taken for binary because each accent became a replacement character.
    """
    return decode_checked(head)[0]


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty one: exports put odd things where objects go."""
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------
# Text clean-up

#: Invisible marks exporters put around names and times (direction marks, isolates, BOM).
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"), None
)
#: Spaces that look like spaces but do not match a plain " " in patterns.
_ODD_SPACES = {ord(c): " " for c in "\u00a0\u2007\u202f\u2009\u200a"}


def clean_invisible(text: str) -> str:
    """Remove direction marks and turn no-break and narrow spaces into plain spaces."""
    return text.translate(_INVISIBLE).translate(_ODD_SPACES)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Latin-1 (Facebook exports do this), when it was.

    Only strings that round-trip cleanly are changed, so text that was correct stays as it is.
    """
    if not text or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


# ---------------------------------------------------------------------------------------------
# Times


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    """A UTC datetime from an epoch number or numeric string; None when it is not usable."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if millis:
        seconds /= 1000.0
    if seconds != seconds:  # NaN
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_apple_time(value: Any) -> datetime | None:
    """A UTC datetime from a macOS Messages date: seconds or nanoseconds since 2001-01-01."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value == 0:
        return None
    seconds = float(value)
    # Since macOS 10.13 the column holds nanoseconds; older databases hold seconds.  Anything
    # above 1e11 seconds would be thousands of years away, so it must be nanoseconds.
    if abs(seconds) > 1e11:
        seconds /= 1e9
    return from_epoch(seconds + APPLE_EPOCH_OFFSET)


def offset_from_local(local: datetime, utc: datetime) -> timezone | None:
    """The UTC offset implied by a naive local time and the same instant in UTC.

    Rounded to 15 minutes (all real offsets are); None when the result is not a real offset.
    """
    delta = local - utc.replace(tzinfo=None)
    quarters = round(delta.total_seconds() / 900)
    if abs(quarters) > 14 * 4:
        return None
    return timezone(timedelta(minutes=15 * quarters))


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 text for a datetime, seconds precision; None stays None."""
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat()


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:") + "…"
