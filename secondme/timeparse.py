"""Dates as people type them: ISO dates, "yesterday", "3 days ago", "last friday", "May 8, 2023".

Stored times are local wall-clock ISO strings (``YYYY-MM-DDTHH:MM:SS``) so that they sort as text
and read as the user wrote them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from secondme.errors import InputError

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: Weekday names as people shorten them in chats ("last Fri", "last Tues."), to the day's index.
_WEEKDAY_NAMES = {name: i for i, name in enumerate(_WEEKDAYS)} | {
    short: i
    for i, shorts in enumerate(
        (("mon",), ("tue", "tues"), ("wed",), ("thu", "thur", "thurs"), ("fri",), ("sat",), ("sun",))
    )
    for short in shorts
}
_UNITS = ("minute", "hour", "day", "week", "month", "year")
_AGO = re.compile(r"^(\d+|a|an|one|two|three)\s+(minute|hour|day|week|month|year)s?\s+ago$")
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}


def now() -> datetime:
    """The current local time, to the second."""
    return datetime.now().replace(microsecond=0)


@functools.lru_cache(maxsize=4096)
def parse_iso(value: str | None) -> datetime | None:
    """A stored ISO time as a datetime; None for no value or one that is not ISO.

    Cached: search compares the same few window times many times over.
    """
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


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
        return _back(ref, count, match.group(2))
    match = re.match(r"^last\s+(week|month|year|" + "|".join(_WEEKDAYS) + r")$", value)
    if match:
        word = match.group(1)
        if word in _UNITS:
            return _back(ref, 1, word).replace(hour=0, minute=0, second=0)
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
    r"|(?P<lastday>last (?P<weekday>" + "|".join(sorted(_WEEKDAY_NAMES, key=len, reverse=True)) + r"))"
    r"|(?P<span>(?P<which>last|next|this) (?P<span_unit>week|weekend|month|year))"
    r")\b",
    re.IGNORECASE,
)


def human_date(value: datetime, weekday: bool = False) -> str:
    """``8 May 2023`` (``Mon 8 May 2023`` with ``weekday``): the form answers should use."""
    text = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{value.strftime('%a')} {text}" if weekday else text


def _back(moment: datetime, count: int, unit: str) -> datetime:
    """``count`` units before ``moment``; months and years by the calendar.

    31 March 2024 less a month is 29 February, not 1 March.
    """
    from dateutil.relativedelta import relativedelta

    return moment - relativedelta(**{f"{unit}s": count})  # type: ignore[arg-type]


def _month_shift(moment: datetime, months: int) -> tuple[int, int]:
    """(year, month) ``months`` calendar months from ``moment``'s."""
    from dateutil.relativedelta import relativedelta

    shifted = moment.replace(day=1) + relativedelta(months=months)
    return shifted.year, shifted.month


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
        target = _WEEKDAY_NAMES[match.group("weekday").lower()]
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


# --- time in questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionTime:
    """What a question says about time: a period it is about, and whether it wants the latest or
    the earliest of several events.

    ``since``/``until`` bound the period (inclusive, local wall-clock); ``order`` is ``"latest"``
    ("when did I last ...", "current", "now") or ``"earliest"`` ("what was my first ...") or None;
    ``phrase`` is the text that set the period, for explanations.
    """

    since: datetime | None = None
    until: datetime | None = None
    order: str | None = None
    phrase: str | None = None
    relative_days: int | None = None
    """For "two weeks before/after X": days from X's date (negative: before)."""
    span: str | None = None
    """For "how many days ago ...", "how long had I been ... when ...": the unit the answer counts
    in (``day``, ``week``, ``month``, ``year``, or ``auto`` for a plain "how long")."""

    @property
    def has_period(self) -> bool:
        """True when the question names a period of time."""
        return self.since is not None or self.until is not None

    def contains(self, moment: datetime) -> bool:
        """True when ``moment`` falls in the period (always True without one)."""
        if self.since is not None and moment < self.since:
            return False
        return not (self.until is not None and moment > self.until)

    def to_dict(self) -> dict[str, str | int | None]:
        """The JSON form (inside ``mem ask --json``)."""
        return {
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
            "order": self.order,
            "phrase": self.phrase,
            "relative_days": self.relative_days,
            "span": self.span,
        }


_MONTH_NAMES = {name.lower(): i + 1 for i, name in enumerate(_MONTHS)}
_MONTH_NAMES.update({name.lower()[:3]: i + 1 for i, name in enumerate(_MONTHS)})
_MONTH_NAMES["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
_LATEST = re.compile(
    r"\b(?:last|latest|most recent(?:ly)?|recently|currently|current|now|these days|still|anymore)\b",
    re.IGNORECASE,
)
# "last" names a period, not an order, in "last week", "last May", "last year", "last Friday".
_LAST_PERIOD = re.compile(
    r"\blast\s+(?:week(?:end)?|month|year|night|time|" + "|".join(_WEEKDAYS) + "|" + _MONTH_RE + r")\b",
    re.IGNORECASE,
)
# A question in the present tense ("Where do I work?", "What is my car?") asks how things are
# now: when memories of different times answer it, the newest holds.
_PRESENT = re.compile(r"^\W*(?:\w+\s+){0,3}?(?:do|does|am|is|are|have|has)\b", re.IGNORECASE)
# "What was my previous status, before I got the current one?" asks about the past, though it
# names the present as its reference.
_PREVIOUS = re.compile(r"\b(?:previous(?:ly)?|former(?:ly)?|used to)\b", re.IGNORECASE)
_PAST = re.compile(r"\b(?:did|was|were|had|used to|ago|before|after|when)\b", re.IGNORECASE)
_EARLIEST = re.compile(r"\b(?:first|earliest|originally|initially|at first|to begin with)\b", re.IGNORECASE)
_SPAN_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
# "How many days ago ...", "how many weeks had passed ...", "how long did it take ...".
_Q_HOW_MANY_UNITS = re.compile(r"\bhow\s+many\s+(day|week|month|year)s?\b", re.IGNORECASE)
_Q_HOW_LONG = re.compile(r"\bhow\s+long\b", re.IGNORECASE)
_Q_COUNT = r"(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)"
_Q_AGO = re.compile(_Q_COUNT + r"\s+(day|week|month|year)s?\s+ago\b", re.IGNORECASE)
_Q_LAST_SPAN = re.compile(
    r"\b(last|past|previous|this)\s+(?:(" + _Q_COUNT[1:-1] + r")\s+)?(day|week(?:end)?|month|year)s?\b",
    re.IGNORECASE,
)
_Q_MONTH_YEAR = re.compile(r"\b(?:in\s+)?(" + _MONTH_RE + r")\.?,?\s+(\d{4})\b", re.IGNORECASE)
_Q_DAY_MONTH_YEAR = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + _MONTH_RE + r")\.?,?\s+(\d{4})\b", re.IGNORECASE
)
_Q_MONTH_DAY_YEAR = re.compile(
    r"\b(" + _MONTH_RE + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE
)
_Q_YEAR = re.compile(r"\b(?:in|during|of|since|before|after)\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_Q_LAST_MONTH_NAME = re.compile(r"\b(?:last|in|this)\s+(" + _MONTH_RE + r")\b(?!\s+\d)", re.IGNORECASE)
_Q_RELATIVE_TO = re.compile(_Q_COUNT + r"\s+(day|week|month|year)s?\s+(before|after)\b", re.IGNORECASE)


def _count(raw: str) -> int:
    raw = raw.lower()
    if raw == "a few":
        return 3
    return _COUNT_WORDS[raw] if raw in _COUNT_WORDS else int(raw)


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _end_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=23, minute=59, second=59, microsecond=0)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1)
    next_year, next_month = _month_shift(start, 1)
    return start, datetime(next_year, next_month, 1) - timedelta(seconds=1)


def question_time(question: str, today: datetime) -> QuestionTime:
    """The period and order a question speaks of, relative to ``today``.

    Periods: "on 8 May 2023", "in May 2023", "in 2023", "last May", "last week", "this month",
    "the past 3 days", "two weeks ago".  A period relative to another event ("two weeks before
    the trip") cannot be placed without that event: it only sets no period.  Order: "when did I
    last ...", "latest", "currently" ask for the latest; "first", "originally" for the earliest.
    Ranges are whole days, months or years, inclusive.
    """
    text = " ".join(question.split())
    since: datetime | None = None
    until: datetime | None = None
    phrase: str | None = None
    day = _day(today)
    match: re.Match[str] | None
    if match := _Q_DAY_MONTH_YEAR.search(text):
        start = datetime(int(match.group(3)), _MONTH_NAMES[match.group(2).lower()], int(match.group(1)))
        since, until, phrase = start, _end_of_day(start), match.group(0)
    elif match := _Q_MONTH_DAY_YEAR.search(text):
        start = datetime(int(match.group(3)), _MONTH_NAMES[match.group(1).lower()], int(match.group(2)))
        since, until, phrase = start, _end_of_day(start), match.group(0)
    elif match := _Q_MONTH_YEAR.search(text):
        since, until = _month_range(int(match.group(2)), _MONTH_NAMES[match.group(1).lower()])
        phrase = match.group(0)
    elif match := _Q_AGO.search(text):
        count, unit = _count(match.group(1)), match.group(2).lower()
        centre = _back(day, count, unit)
        # "two weeks ago" is a week around that day; "3 days ago" that day.
        half = timedelta(days={"day": 0, "week": 3, "month": 15, "year": 182}[unit])
        since, until, phrase = centre - half, _end_of_day(centre + half), match.group(0)
    elif match := _Q_LAST_SPAN.search(text):
        which, raw_count, unit = match.group(1).lower(), match.group(2), match.group(3).lower()
        count = _count(raw_count) if raw_count else 1
        phrase = match.group(0)
        if unit == "weekend":
            if which == "this":
                # The weekend under way, else the coming one ("What should I cook this weekend?"
                # on a Tuesday): a plan, whose period holds no memory yet.
                saturday = day + timedelta(days=5 - day.weekday())
            else:
                saturday = day - timedelta(days=(day.weekday() - 5) % 7 or 7)
            since, until = saturday, _end_of_day(saturday + timedelta(days=1))
        elif which == "this":
            if unit == "day":
                since, until = day, _end_of_day(day)
            elif unit == "week":
                since, until = day - timedelta(days=day.weekday()), _end_of_day(day)
            elif unit == "month":
                since, until = day.replace(day=1), _end_of_day(day)
            else:
                since, until = day.replace(month=1, day=1), _end_of_day(day)
        elif which in ("past",) or raw_count:
            since, until = _back(day, count, unit), _end_of_day(day)
        elif unit == "week":
            monday = day - timedelta(days=day.weekday() + 7)
            since, until = monday, _end_of_day(monday + timedelta(days=6))
        elif unit == "month":
            year, month = _month_shift(day, -1)
            since, until = _month_range(year, month)
        elif unit == "year":
            since, until = datetime(day.year - 1, 1, 1), datetime(day.year - 1, 12, 31, 23, 59, 59)
        else:
            yesterday = day - timedelta(days=1)
            since, until = yesterday, _end_of_day(yesterday)
    elif match := _Q_LAST_MONTH_NAME.search(text):
        month = _MONTH_NAMES[match.group(1).lower()]
        # "may" is also a verb: only a capitalised month name counts.
        if match.group(1)[0].isupper():
            year = (
                day.year if (month < day.month or match.group(0).lower().startswith("this")) else day.year - 1
            )
            if match.group(0).lower().startswith("last") and month >= day.month:
                year = day.year - 1
            since, until = _month_range(year, month)
            phrase = match.group(0)
    elif match := _Q_YEAR.search(text):
        year = int(match.group(1))
        word = match.group(0).split()[0].lower()
        if word == "since":
            since, until = datetime(year, 1, 1), None
        elif word == "before":
            since, until = None, datetime(year, 1, 1) - timedelta(seconds=1)
        elif word == "after":
            since, until = datetime(year + 1, 1, 1), None
        else:
            since, until = datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59)
        phrase = match.group(0)
    relative_days = None
    if relative := _Q_RELATIVE_TO.search(text):
        # "two weeks before the trip": relative to an event, not to today; retrieval places it
        # against the date of the best match for the event.
        days = _count(relative.group(1)) * _SPAN_UNITS[relative.group(2).lower()]
        relative_days = -days if relative.group(3).lower() == "before" else days
        since = until = None
        phrase = relative.group(0)
    order: str | None = None
    without_periods = _LAST_PERIOD.sub(" ", text)
    if _EARLIEST.search(without_periods):
        order = "earliest"
    elif not _PREVIOUS.search(text) and (
        _LATEST.search(without_periods)
        or (_PRESENT.search(text) and not _PAST.search(text) and not since and not until)
    ):
        order = "latest"
    span: str | None = None
    if units := _Q_HOW_MANY_UNITS.search(text):
        span = units.group(1).lower()
    elif _Q_HOW_LONG.search(text):
        span = "auto"
    return QuestionTime(
        since=since, until=until, order=order, phrase=phrase, relative_days=relative_days, span=span
    )


def _round_half(value: float) -> str:
    rounded = round(value * 2) / 2
    return f"{rounded:g}"


def span_text(start: datetime, end: datetime, unit: str = "auto") -> str:
    """The time from ``start`` to ``end`` (calendar days) counted in ``unit``, as a model reads it.

    ``"day"``: "29 days"; ``"week"``: "4 weeks (28 days)", "about 4 weeks (29 days)";
    ``"month"``: "4 months (122 days)", "about 4 months (125 days)" (calendar months);
    ``"year"``: "2 years", "about 1.5 years (18 months)"; ``"auto"`` picks the unit by size.
    Small models cannot count days between two dates; this does it for them.
    """
    from dateutil.relativedelta import relativedelta

    days = abs((_day(end) - _day(start)).days)
    early, late = sorted((_day(start), _day(end)))
    if unit == "auto":
        unit = "day" if days < 14 else "week" if days < 63 else "month" if days < 730 else "year"
    if unit == "day":
        return "1 day" if days == 1 else f"{days} days"
    if unit == "week":
        weeks = days / 7
        exact = days % 7 == 0
        count = f"{days // 7}" if exact else _round_half(weeks)
        plural = "week" if count == "1" else "weeks"
        return f"{'' if exact else 'about '}{count} {plural} ({days} days)"
    delta = relativedelta(late, early)
    months = delta.years * 12 + delta.months
    if unit == "month":
        extra = delta.days
        count = str(months) if extra == 0 else _round_half(months + extra / 30.44)
        plural = "month" if count == "1" else "months"
        return f"{'' if extra == 0 else 'about '}{count} {plural} ({days} days)"
    exact = months % 12 == 0 and delta.days == 0
    count = str(months // 12) if exact else _round_half((months + delta.days / 30.44) / 12)
    plural = "year" if count == "1" else "years"
    return f"{'' if exact else 'about '}{count} {plural} ({months} months)"
