"""Absence dates as people type them."""

from datetime import date

import pytest

from bot.domain.dates import DateProblem, parse_range

TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    "text, expected",
    [
        ("24.12.–2.1.", (date(2026, 12, 24), date(2027, 1, 2))),
        ("24.12. - 2.1.", (date(2026, 12, 24), date(2027, 1, 2))),
        ("24.12. bis 2.1.2027", (date(2026, 12, 24), date(2027, 1, 2))),
        ("2026-12-24 2027-01-02", (date(2026, 12, 24), date(2027, 1, 2))),
        ("2026-12-24", (date(2026, 12, 24), date(2026, 12, 24))),
        ("friday", (date(2026, 12, 4), date(2026, 12, 4))),
        ("Freitag", (date(2026, 12, 4), date(2026, 12, 4))),
        ("mon", (date(2026, 11, 30), date(2026, 11, 30))),
        ("today", (TODAY, TODAY)),
        ("morgen", (date(2026, 12, 1), date(2026, 12, 1))),
        ("3.2.", (date(2027, 2, 3), date(2027, 2, 3))),
        ("1.12.26", (date(2026, 12, 1), date(2026, 12, 1))),
        ("thu to fri", (date(2026, 12, 3), date(2026, 12, 4))),
    ],
)
def test_understood(text, expected):
    assert parse_range(text, TODAY) == expected


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "one date or a range"),
        ("someday", "don't understand 'someday'"),
        ("31.2.", "not a real date"),
        ("2026-11-01", "in the past"),
        ("2026-12-10 2026-12-01", "ends"),
        ("1.1. 2.1. 3.1.", "one date or a range"),
        ("2026-12-01 2028-01-01", "longer than a year"),
    ],
)
def test_refused_clearly(text, problem):
    with pytest.raises(DateProblem, match=problem):
        parse_range(text, TODAY)
