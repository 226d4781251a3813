"""Relative dates inside memory text, resolved against the time the text was written."""

from datetime import datetime

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
