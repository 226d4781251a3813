"""Relative dates inside memory text, resolved against the time the text was written."""

from datetime import datetime, timedelta

import pytest

from secondme.timeparse import annotate_relative, human_date

SAID = datetime(2023, 5, 8, 13, 56)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went yesterday.", "I went yesterday (7 May 2023)."),
        ("Last night was long", "Last night (7 May 2023) was long"),
        ("the day before yesterday", "the day before yesterday (6 May 2023)"),
        ("tonight and tomorrow", "tonight (8 May 2023) and tomorrow (9 May 2023)"),
        ("3 days ago", "3 days ago (5 May 2023)"),
        ("two weeks ago", "two weeks ago (the week of 24 April 2023)"),
        ("A couple of months ago", "A couple of months ago (March 2023)"),
        ("ten years ago", "ten years ago (2013)"),
        ("a few weeks ago", "a few weeks ago (a few weeks before 8 May 2023)"),
        ("last Friday", "last Friday (5 May 2023)"),
        ("last Monday", "last Monday (1 May 2023)"),
        ("Last Fri I took the kids", "Last Fri (5 May 2023) I took the kids"),
        ("last Tues. and last thurs", "last Tues (2 May 2023). and last thurs (4 May 2023)"),
        ("the last sunset, the last monument", "the last sunset, the last monument"),
        ("last week", "last week (the week before 8 May 2023)"),
        ("next weekend", "next weekend (the weekend after 8 May 2023)"),
        ("last month and next month", "last month (April 2023) and next month (June 2023)"),
        ("this year", "this year (2023)"),
        ("no dates here, weekly and lastly", "no dates here, weekly and lastly"),
    ],
)
def test_annotate_relative(text: str, expected: str) -> None:
    assert annotate_relative(text, SAID) == expected


def test_annotate_relative_crosses_year_ends() -> None:
    new_year = datetime(2024, 1, 1)
    assert annotate_relative("last month", new_year) == "last month (December 2023)"
    assert annotate_relative("yesterday", new_year) == "yesterday (31 December 2023)"


def test_human_date() -> None:
    assert human_date(SAID) == "8 May 2023"
    assert human_date(SAID, weekday=True) == "Mon 8 May 2023"


# -- time in questions ----------------------------------------------------------------------------

from secondme.timeparse import question_time  # noqa: E402

NOW = datetime(2023, 6, 14, 10, 30)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What did I do in May 2023?", datetime(2023, 5, 1), datetime(2023, 5, 31, 23, 59, 59)),
        ("Where was I on 8 May 2023?", datetime(2023, 5, 8), datetime(2023, 5, 8, 23, 59, 59)),
        ("Where was I on May 8th, 2023?", datetime(2023, 5, 8), datetime(2023, 5, 8, 23, 59, 59)),
        ("Who did I meet last week?", datetime(2023, 6, 5), datetime(2023, 6, 11, 23, 59, 59)),
        ("What did I cook last month?", datetime(2023, 5, 1), datetime(2023, 5, 31, 23, 59, 59)),
        ("What happened last year?", datetime(2022, 1, 1), datetime(2022, 12, 31, 23, 59, 59)),
        ("What did I buy this month?", datetime(2023, 6, 1), datetime(2023, 6, 14, 23, 59, 59)),
        ("What did I read in the past 3 days?", datetime(2023, 6, 11), datetime(2023, 6, 14, 23, 59, 59)),
        ("What did I eat two weeks ago?", datetime(2023, 5, 28), datetime(2023, 6, 3, 23, 59, 59)),
        ("Where did I go last May?", datetime(2023, 5, 1), datetime(2023, 5, 31, 23, 59, 59)),
        ("Where did I go last July?", datetime(2022, 7, 1), datetime(2022, 7, 31, 23, 59, 59)),
        ("Which concerts did I see in March?", datetime(2023, 3, 1), datetime(2023, 3, 31, 23, 59, 59)),
        ("What did I start in 2021?", datetime(2021, 1, 1), datetime(2021, 12, 31, 23, 59, 59)),
        ("What did I do last weekend?", datetime(2023, 6, 10), datetime(2023, 6, 11, 23, 59, 59)),
        # On a Wednesday "this weekend" is the coming one, not today and tomorrow.
        ("What should I cook this weekend?", datetime(2023, 6, 17), datetime(2023, 6, 18, 23, 59, 59)),
    ],
)
def test_periods_in_questions_parse_to_ranges(question, since, until):
    when = question_time(question, NOW)
    assert (when.since, when.until) == (since, until)
    assert when.contains(since) and when.contains(until)
    assert not when.contains(until + timedelta(seconds=1)) and not when.contains(since - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("question", "order"),
    [
        ("When did I last see Ana?", "latest"),
        ("What is my current job?", "latest"),
        ("Where do I live now?", "latest"),
        ("What was my first car?", "earliest"),
        ("Where did I originally plan to go?", "earliest"),
        ("Where do I work?", "latest"),
        ("Who is my dentist?", "latest"),
        ("Who did I meet last week?", None),
        ("What did I eat last Friday?", None),
        ("Where was I when it rained?", None),
        ("What did Ana say about her dentist?", None),
        # "previous" asks about the past, even beside "current".
        ("What was my previous status before I got the current one?", None),
        ("Where is the house I used to live in?", None),
    ],
)
def test_latest_and_earliest_questions(question, order):
    assert question_time(question, NOW).order == order


@pytest.mark.parametrize(
    ("today", "saturday"),
    [
        (datetime(2023, 6, 17, 9), datetime(2023, 6, 17)),  # a Saturday: this one
        (datetime(2023, 6, 18, 9), datetime(2023, 6, 17)),  # a Sunday: the one under way
        (datetime(2023, 6, 19, 9), datetime(2023, 6, 24)),  # a Monday: the coming one
    ],
)
def test_this_weekend_is_the_one_under_way_or_coming(today, saturday):
    when = question_time("Any plans for this weekend?", today)
    sunday_night = saturday + timedelta(days=1, hours=23, minutes=59, seconds=59)
    assert (when.since, when.until) == (saturday, sunday_night)


def test_questions_without_time_and_relative_to_an_event():
    plain = question_time("Who is my dentist? He may know.", NOW)
    assert not plain.has_period and plain.relative_days is None and plain.contains(datetime(1990, 1, 1))
    before = question_time("What did I buy two weeks before the trip to Rome?", NOW)
    assert before.relative_days == -14 and not before.has_period
    after = question_time("Where did I go 3 days after my birthday?", NOW)
    assert after.relative_days == 3
    # "may" the verb is not the month May.
    assert question_time("What may I have forgotten in June 2023?", NOW).since == datetime(2023, 6, 1)


def test_months_and_years_back_follow_the_calendar():
    end_of_may = datetime(2024, 5, 31, 12, 0)
    # Three calendar months before 31 May 2024 is 29 February (a leap year), not 90 days back.
    assert question_time("What did I do in the past 3 months?", end_of_may).since == datetime(2024, 2, 29)
    assert question_time("What did I do in the past 2 years?", datetime(2024, 2, 29)).since == datetime(
        2022, 2, 28
    )
    from secondme.timeparse import parse_when

    assert parse_when("1 month ago", datetime(2024, 3, 31, 9, 0)) == datetime(2024, 2, 29, 9, 0)
    assert parse_when("last month", datetime(2023, 3, 31, 9, 0)) == datetime(2023, 2, 28)


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("How many days ago did I attend the Maundy Thursday service?", "day"),
        ("How many weeks did it take me to watch all the films?", "week"),
        ("How many months ago did I attend the film festival?", "month"),
        ("How long had I been taking guitar lessons when I bought the amp?", "auto"),
        ("When did I last see Ana?", None),
        ("How many shirts did I pack?", None),
    ],
)
def test_questions_that_count_time_name_their_unit(question, span):
    assert question_time(question, NOW).span == span


@pytest.mark.parametrize(
    ("start", "end", "unit", "expected"),
    [
        (datetime(2023, 3, 2), datetime(2023, 3, 31, 23, 0), "day", "29 days"),
        (datetime(2023, 3, 2), datetime(2023, 3, 3), "day", "1 day"),
        (datetime(2023, 3, 2), datetime(2023, 3, 30), "week", "4 weeks (28 days)"),
        (datetime(2023, 3, 2), datetime(2023, 3, 31), "week", "about 4 weeks (29 days)"),
        (datetime(2023, 3, 31), datetime(2023, 3, 2), "week", "about 4 weeks (29 days)"),
        (datetime(2023, 1, 15), datetime(2023, 5, 15), "month", "4 months (120 days)"),
        (datetime(2023, 1, 15), datetime(2023, 5, 20), "month", "about 4 months (125 days)"),
        (datetime(2021, 5, 1), datetime(2023, 5, 1), "year", "2 years (24 months)"),
        (datetime(2023, 3, 2), datetime(2023, 3, 6), "auto", "4 days"),
        (datetime(2023, 3, 2), datetime(2023, 4, 6), "auto", "5 weeks (35 days)"),
        (datetime(2023, 1, 2), datetime(2023, 7, 2), "auto", "6 months (181 days)"),
    ],
)
def test_span_text_counts_calendar_days_weeks_and_months(start, end, unit, expected):
    from secondme.timeparse import span_text

    assert span_text(start, end, unit) == expected


def test_parse_iso_reads_stored_times_and_refuses_others() -> None:
    from secondme.timeparse import parse_iso

    assert parse_iso("2023-05-08T13:56:00") == datetime(2023, 5, 8, 13, 56)
    assert parse_iso("2023-05-08T13:56:00+01:00").utcoffset() is not None
    assert parse_iso("8 May 2023") is None and parse_iso("") is None and parse_iso(None) is None
