"""Requests and alert threads for the figures tests, and one month of them with hand-computed figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.alerts import Alert, AlertState, AlertThread
from bot.domain.requests import Outcome, Person, SupportRequest, TicketState
from bot.web.references import address as teams_address
from bot.domain.stats import month_period

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
NOW = datetime(2026, 12, 1, 10, tzinfo=BERLIN)
TARGET = timedelta(minutes=5)
HERE = teams_address("https://smba.example/", "19:backend@thread.tacv2")
ADA = Person("a1", "Ada")


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A time in Berlin in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def request(at: datetime, seconds: float | None = None, outcome: Outcome | None = None, ticket: bool = False) -> SupportRequest:
    """A request arriving at `at` (stored as UTC, as the repository returns it), answered after `seconds`."""
    at = at.astimezone(UTC)
    r = SupportRequest(f"r{at.timestamp()}", HERE, ADA, "help", at, at + TARGET, True)
    if seconds is not None:
        r = replace(r, first_response_at=at + timedelta(seconds=seconds), first_response_by=ADA)
    if outcome is not None:
        r = replace(r, outcome=outcome, outcome_by=ADA)
    if ticket:
        r = replace(r, ticket=TicketState.CREATED, ticket_key="SUP-1")
    return r


def thread(at: datetime, events: int, state: AlertState = AlertState.OPEN, handled_after: float | None = None,
           ticket: bool = False) -> AlertThread:
    """A thread opened at `at` (stored as UTC) with its events, taken or dismissed after `handled_after` seconds."""
    alert = Alert("p1", "backend", "exception", "New exception", error_id=f"e{at.timestamp()}")
    handled = at + timedelta(seconds=handled_after) if handled_after is not None else None
    return AlertThread(alert.key, alert, events=events, opened_at=at.astimezone(UTC), state=state,
                       handled_by=ADA if handled else None, handled_at=handled,
                       ticket=TicketState.CREATED if ticket else TicketState.NONE)


# November 2026 in Berlin; the figures are computed by hand in tests/unit/test_stats.py.
NOVEMBER = month_period(2026, 11, BERLIN)
REQUESTS = [
    request(local(1, 0, 5), 90, Outcome.DOCUMENTED),  # 31 Oct 23:05 UTC: November in Berlin
    request(local(10, 9, 15), 30, Outcome.QUESTION),
    request(local(10, 16, 5), 60, Outcome.BUG, ticket=True),
    request(local(11, 16, 40), 120, Outcome.BUG, ticket=True),
    request(local(12, 17, 10), 300, Outcome.EXCEPTION),  # exactly on target: no breach
    request(local(12, 17, 30), 600, Outcome.QUESTION),  # breach
    request(local(13, 11, 0)),  # never answered, target long past: breach
    request(local(31, 23, 30, month=10), 5),  # October in Berlin
    request(local(1, 0, 10, month=12), 5),  # 30 Nov 23:10 UTC, but December in Berlin
]
THREADS = [
    thread(local(5, 10), 3, AlertState.HANDLING, handled_after=120, ticket=True),
    thread(local(20, 15), 1, AlertState.NOT_IMPACTFUL, handled_after=600),
    thread(local(25, 8), 5),
    thread(local(31, 23, 59, month=10), 100, AlertState.HANDLING, handled_after=1),  # October
]
