"""Dates as people type them: ISO dates, "yesterday", "3 days ago", "last friday", "May 8, 2023".

Stored times are local wall-clock ISO strings (``YYYY-MM-DDTHH:MM:SS``) so that they sort as text
and read as the user wrote them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from secondme.errors import InputError

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNITS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
_AGO = re.compile(r"^(\d+|a|an|one|two|three)\s+(minute|hour|day|week|month|year)s?\s+ago$")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def now() -> datetime:
    """The current local time, to the second."""
    return datetime.now().replace(microsecond=0)


def to_local_naive(value: datetime) -> datetime:
    """A datetime in local wall-clock time without tzinfo."""
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value.replace(microsecond=0)


def iso(value: datetime) -> str:
    """The stored form of a time."""
    return to_local_naive(value).strftime(ISO_FORMAT)


def parse_when(text: str, reference: datetime | None = None) -> datetime:
    """Parse a date or time the way a person writes it, relative to ``reference``."""
    ref = reference or now()
    raw = (text or "").strip()
    value = raw.lower()
    if not value:
        raise InputError("empty date", hint="use e.g. 2024-03-02, yesterday, '3 days ago'")
    if value == "now":
        return ref
    if value == "today":
        return ref.replace(hour=0, minute=0, second=0)
    if value == "yesterday":
        return (ref - timedelta(days=1)).replace(hour=0, minute=0, second=0)
    if value == "tomorrow":
        return (ref + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    match = _AGO.match(value)
    if match:
        count = _WORD_NUMBERS.get(match.group(1)) or int(match.group(1))
        return ref - count * _UNITS[match.group(2)]
    match = re.match(r"^last\s+(week|month|year|" + "|".join(_WEEKDAYS) + r")$", value)
    if match:
        word = match.group(1)
        if word in _UNITS:
            return (ref - _UNITS[word]).replace(hour=0, minute=0, second=0)
        days_back = (ref.weekday() - _WEEKDAYS.index(word)) % 7 or 7
        return (ref - timedelta(days=days_back)).replace(hour=0, minute=0, second=0)
    try:
        return to_local_naive(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        from dateutil import parser as date_parser

        return to_local_naive(date_parser.parse(raw, default=ref.replace(hour=0, minute=0, second=0)))
    except (ValueError, OverflowError):
        raise InputError(
            f"cannot understand the date {text!r}",
            hint="use e.g. 2024-03-02, '2024-03-02 14:30', yesterday, '3 days ago', 'last friday'",
        ) from None
