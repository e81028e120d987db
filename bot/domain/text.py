"""How the bot writes for people: one date format, names joined as in a sentence, previews cut at a word."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Iterable

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(day: date, year: bool = False) -> str:
    """A day as 'Wed 2 Dec' (or 'Wed 2 Dec 2026'): the one date format, whatever the machine's locale."""
    text = f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def format_when(instant: datetime, tz: tzinfo, year: bool = False) -> str:
    """An instant in the team's time zone as 'Wed 2 Dec 17:05'."""
    local = instant.astimezone(tz)
    return f"{format_day(local.date(), year)} {local:%H:%M}"


def format_clock(instant: datetime, tz: tzinfo) -> str:
    """An instant in the team's time zone as '17:05'."""
    return f"{instant.astimezone(tz):%H:%M}"


def format_span(first: date, last: date) -> str:
    """A range of days as 'Thu 24 Dec – Sat 2 Jan 2027', or one day when first is last."""
    if first == last:
        return format_day(first, year=True)
    return f"{format_day(first, year=first.year != last.year)} – {format_day(last, year=True)}"


def join_names(names: Iterable[str], conjunction: str = "and") -> str:
    """Names as in a sentence: 'A', 'A and B', 'A, B and C'."""
    items = [n for n in names if n]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """One line of at most `limit` characters, cut at a word boundary with an ellipsis when it is longer."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    room = max(limit - len(ellipsis), 1)
    cut = flat[:room + 1]
    space = cut.rfind(" ")
    # A single very long word (a URL, a stack frame) is cut inside it rather than dropped whole.
    head = cut[:space] if space >= room // 2 else flat[:room]
    return head.rstrip(" ,;:.-–") + ellipsis


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 request', '3 requests'."""
    return f"{count} {one if count == 1 else (many or one + 's')}"

