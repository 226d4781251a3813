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


# --- relative dates inside text ------------------------------------------------------------------

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_COUNT_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a couple": 2,
}
_COUNT = r"(?P<count>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple(?: of)?)"
_RELATIVE = re.compile(
    r"\b(?:"
    r"(?P<dby>the day before yesterday)"
    r"|(?P<yesterday>yesterday|last night)"
    r"|(?P<today>today|tonight|this (?:morning|afternoon|evening))"
    r"|(?P<tomorrow>tomorrow)"
    r"|(?P<ago>" + _COUNT + r"\s+(?P<unit>day|week|month|year)s?\s+ago)"
    r"|(?P<few>a few (?P<few_unit>day|week|month|year)s ago)"
    r"|(?P<lastday>last (?P<weekday>" + "|".join(_WEEKDAYS) + r"))"
    r"|(?P<span>(?P<which>last|next|this) (?P<span_unit>week|weekend|month|year))"
    r")\b",
    re.IGNORECASE,
)


def human_date(value: datetime, weekday: bool = False) -> str:
    """``8 May 2023`` (``Mon 8 May 2023`` with ``weekday``): the form answers should use."""
    text = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{value.strftime('%a')} {text}" if weekday else text


def _month_shift(moment: datetime, months: int) -> tuple[int, int]:
    index = moment.year * 12 + moment.month - 1 + months
    return index // 12, index % 12 + 1


def _resolve(match: re.Match[str], moment: datetime) -> str | None:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if match.group("dby"):
        return human_date(day - timedelta(days=2))
    if match.group("yesterday"):
        return human_date(day - timedelta(days=1))
    if match.group("today"):
        return human_date(day)
    if match.group("tomorrow"):
        return human_date(day + timedelta(days=1))
    if match.group("ago"):
        raw = match.group("count").lower()
        count = _COUNT_WORDS[raw] if raw in _COUNT_WORDS else int(raw)
        unit = match.group("unit").lower()
        if unit == "day":
            return human_date(day - timedelta(days=count))
        if unit == "week":
            return f"the week of {human_date(day - timedelta(weeks=count))}"
        if unit == "month":
            year, month = _month_shift(day, -count)
            return f"{_MONTHS[month - 1]} {year}"
        return str(day.year - count)
    if match.group("few"):
        return f"a few {match.group('few_unit').lower()}s before {human_date(day)}"
    if match.group("lastday"):
        target = _WEEKDAYS.index(match.group("weekday").lower())
        back = (day.weekday() - target) % 7 or 7
        return human_date(day - timedelta(days=back))
    which, unit = match.group("which").lower(), match.group("span_unit").lower()
    if unit in ("week", "weekend"):
        if which == "this":
            return f"the {unit} of {human_date(day)}"
        return f"the {unit} {'before' if which == 'last' else 'after'} {human_date(day)}"
    if unit == "month":
        year, month = _month_shift(day, {"last": -1, "next": 1, "this": 0}[which])
        return f"{_MONTHS[month - 1]} {year}"
    return str(day.year + {"last": -1, "next": 1, "this": 0}[which])


def annotate_relative(text: str, moment: datetime) -> str:
    """``text`` with each relative date followed by what it meant at ``moment``.

    "I saw Ana yesterday", said on 8 May 2023, becomes "I saw Ana yesterday (7 May 2023)", so a
    reader (or a model) no longer has to count days.  Only unambiguous phrases are resolved.
    """

    def replace(match: re.Match[str]) -> str:
        resolved = _resolve(match, moment)
        return f"{match.group(0)} ({resolved})" if resolved else match.group(0)

    return _RELATIVE.sub(replace, text)
