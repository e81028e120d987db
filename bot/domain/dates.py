"""Dates as people type them in chat: German (24.12.–2.1.), ISO (2026-12-24), weekday names, today/tomorrow."""

from __future__ import annotations

import re
from datetime import date, timedelta

from .errors import DomainError
from .members import parse_weekday

# A plain hyphen separates a range only after a German date ("24.12.-2.1.") or between spaces; ISO dates keep theirs.
_RANGE_SPLIT = re.compile(r"\s*(?:–|—|(?<=\.)-|\s-\s|\bbis\b|\bto\b|\buntil\b)\s*|\s+")
_GERMAN = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WORDS = {"today": 0, "heute": 0, "tomorrow": 1, "morgen": 1}


class DateProblem(DomainError):
    """The text is not a date range the bot understands, or lies in the past."""


def _one(token: str, today: date, after: date | None) -> date:
    token = token.strip().lower().rstrip(",")
    if token in _WORDS:
        return today + timedelta(days=_WORDS[token])
    if m := _ISO.match(token):
        return _checked(int(m[1]), int(m[2]), int(m[3]), token)
    if m := _GERMAN.match(token):
        day, month = int(m[1]), int(m[2])
        if m[3]:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return _checked(year, month, day, token)
        # Without a year: the next such date, on or after the range's start (24.12.–2.1. ends next year).
        floor = after or today
        candidate = _checked(floor.year, month, day, token)
        return candidate if candidate >= floor else _checked(floor.year + 1, month, day, token)
    try:
        weekday = parse_weekday(token)
    except ValueError:
        raise DateProblem(f"I don't understand {token!r} as a date. Try 24.12., 2026-12-24, friday or 24.12.–2.1.") from None
    floor = after or today
    return floor + timedelta(days=(weekday - floor.weekday()) % 7)


def _checked(year: int, month: int, day: int, token: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateProblem(f"{token!r} is not a real date.") from None


def parse_range(text: str, today: date) -> tuple[date, date]:
    """The first and last day (inclusive) of what someone typed; DateProblem when unclear or in the past."""
    tokens = [t for t in _RANGE_SPLIT.split(text.strip()) if t]
    if not tokens or len(tokens) > 2:
        raise DateProblem("Give one date or a range, such as `away friday`, `away 24.12.–2.1.` or `away 2026-12-24 2027-01-02`.")
    first = _one(tokens[0], today, None)
    last = _one(tokens[1], today, first) if len(tokens) == 2 else first
    if last < first:
        raise DateProblem(f"The range ends ({last:%d.%m.%Y}) before it starts ({first:%d.%m.%Y}).")
    if first < today:
        raise DateProblem(f"{first:%d.%m.%Y} is in the past; I only record absences from today on.")
    if (last - first).days > 366:
        raise DateProblem("That is longer than a year; please enter it in parts.")
    return first, last
