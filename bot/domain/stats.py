"""Support figures for a period: response times, target breaches, outcomes, busy hours, tickets and Bugsnag alerts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from .alerts import AlertState, AlertThread
from .errors import DomainError
from .iteration import Iteration, IterationPolicy
from .requests import Outcome, SupportRequest, TicketState

USAGE = "stats | stats last | stats 2026-11"
HOW = "Write `stats` (this iteration), `stats last` (the previous one) or `stats 2026-11` (a calendar month)."
# The duties promise that #backend is busiest 16:00–18:00; the figures say whether that held.
LATE_AFTERNOON = 16
WINDOW_HOURS = 2
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


class PeriodProblem(DomainError):
    """The text after `stats` names no period the bot understands."""


@dataclass(frozen=True)
class Period:
    """A stretch of time to report on: from `first` (inclusive) to `after` (exclusive)."""

    label: str
    first: datetime
    after: datetime


def iteration_period(iteration: Iteration, tz: ZoneInfo, name: str) -> Period:
    """An iteration as a period, labelled e.g. 'Last iteration (Wed 18 Nov – Tue 24 Nov 2026)'."""
    first, after = iteration.bounds(tz)
    return Period(f"{name} ({iteration.label()})", first, after)


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    """A calendar month from local midnight on the 1st to local midnight on the 1st of the next month."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2999:
        raise PeriodProblem(f"There is no month {year}-{month:02d}. {HOW}")
    first = datetime(year, month, 1, tzinfo=tz)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return Period(f"{_MONTH_NAMES[month - 1]} {year}", first, after)


def parse_period(text: str, now: datetime, policy: IterationPolicy, tz: ZoneInfo) -> Period:
    """'' is this iteration, 'last' the previous one, 'YYYY-MM' a calendar month; anything else is a PeriodProblem."""
    word = " ".join(text.split()).lower()
    current = policy.at(now, tz)
    if word == "":
        return iteration_period(current, tz, "This iteration")
    if word == "last":
        return iteration_period(current.previous(), tz, "Last iteration")
    if m := _MONTH.match(word):
        return month_period(int(m[1]), int(m[2]), tz)
    raise PeriodProblem(f"I don't know the period {text.strip()!r}. {HOW}")


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The fraction-quantile (0..1) by linear interpolation between closest ranks (numpy's default,
    statistics.quantiles(method='inclusive')): sorted values v, position (n-1)*fraction, interpolated between
    its neighbours; so the 0.5-quantile is the usual median. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def breached(request: SupportRequest, now: datetime) -> bool:
    """The first response came after the target, or there is none and the target has passed."""
    if request.first_response_at is None:
        return request.target_at < now
    return request.first_response_at > request.target_at


@dataclass(frozen=True)
class Figures:
    """What happened in a period, computed from requests and alert threads."""

    period: Period
    requests: int
    answered: int
    median_seconds: float | None
    p90_seconds: float | None
    breaches: int
    outcomes: tuple[tuple[Outcome, int], ...]  # in the triage card's order, zero counts left out
    untriaged: int
    by_hour: tuple[int, ...]  # 24 counts, by the hour of arrival in the team's time zone
    request_tickets: int
    alert_tickets: int
    alerts: int
    alert_events: int
    alerts_taken: int
    alerts_dismissed: int
    handled_median_seconds: float | None
    target_seconds: int = 300  # the first-response target the breaches were counted against
    incidents: int = 0  # requests that others were grouped under
    grouped: int = 0  # requests grouped into an incident (they follow its root's clock, so response times leave them out)

    @property
    def target(self) -> str:
        """The target as people say it: '5-minute', '90-second'."""
        minutes, seconds = divmod(self.target_seconds, 60)
        return f"{minutes}-minute" if not seconds else f"{self.target_seconds}-second"

    @property
    def tickets(self) -> int:
        """Jira tickets created for requests and for alerts."""
        return self.request_tickets + self.alert_tickets

    @property
    def alerts_handled(self) -> int:
        """Alert threads someone took or dismissed."""
        return self.alerts_taken + self.alerts_dismissed

    def window(self, start_hour: int) -> int:
        """Requests that arrived in the two hours from start_hour."""
        return sum(self.by_hour[start_hour:start_hour + WINDOW_HOURS])

    @property
    def busiest_window(self) -> int | None:
        """The start hour of the busiest two consecutive hours; None without requests.

        On a tie the window that starts with the busier hour wins (a lone busy 9h gives 9–11h, not 8–10h),
        then the earliest."""
        if not self.requests:
            return None
        return max(range(24 - WINDOW_HOURS + 1), key=lambda h: (self.window(h), self.by_hour[h], -h))

    @property
    def late_afternoon_peak(self) -> bool:
        """True when no two-hour window was busier than 16:00–18:00 (a tie counts as the peak)."""
        busiest = self.busiest_window
        return busiest is not None and self.window(LATE_AFTERNOON) == self.window(busiest)


def _seconds(start: datetime, end: datetime) -> float:
    # In UTC: Python subtracts two times of the same zone by the wall clock, an hour off across a clock change.
    return (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds()


def _within(at: datetime | None, period: Period) -> bool:
    return at is not None and period.first <= at < period.after


def compute(period: Period, requests: Sequence[SupportRequest], threads: Sequence[AlertThread], now: datetime,
            tz: ZoneInfo, target_seconds: int = 300) -> Figures:
    """The figures of a period; requests count by arrival and alert threads by opening, whatever else is passed."""
    mine = [r for r in requests if _within(r.received_at, period)]
    own = [r for r in mine if not r.incident]
    opened = [t for t in threads if _within(t.opened_at, period)]
    times = [r.response_seconds for r in own if r.response_seconds is not None]
    counts = {o: sum(1 for r in mine if r.outcome is o) for o in Outcome}
    hours = [0] * 24
    for r in mine:
        hours[r.received_at.astimezone(tz).hour] += 1
    handled = [t for t in opened if t.handled_at is not None and t.state is not AlertState.OPEN]
    return Figures(
        period=period,
        requests=len(mine),
        answered=len(times),
        median_seconds=percentile(times, 0.5),
        p90_seconds=percentile(times, 0.9),
        breaches=sum(1 for r in own if breached(r, now)),
        outcomes=tuple((o, n) for o, n in counts.items() if n),
        untriaged=sum(1 for r in mine if r.outcome is None),
        by_hour=tuple(hours),
        request_tickets=sum(1 for r in mine if r.ticket is TicketState.CREATED),
        alert_tickets=sum(1 for t in opened if t.ticket is TicketState.CREATED),
        alerts=len(opened),
        alert_events=sum(t.events for t in opened),
        alerts_taken=sum(1 for t in handled if t.state is AlertState.HANDLING),
        alerts_dismissed=sum(1 for t in handled if t.state is AlertState.NOT_IMPACTFUL),
        handled_median_seconds=percentile([_seconds(t.opened_at, t.handled_at) for t in handled], 0.5),
        target_seconds=target_seconds,
        incidents=sum(1 for r in mine if r.grouped()),
        grouped=len(mine) - len(own),
    )


def duration(seconds: float | None) -> str:
    """A duration as people read it: '45 s', '2.5 min', '1.2 h'; '—' for none."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def plural(n: int, word: str, words: str | None = None) -> str:
    """'1 request', '3 requests'."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def hours_label(start_hour: int) -> str:
    """A two-hour window as '16–18h'."""
    return f"{start_hour}–{start_hour + WINDOW_HOURS}h"


def peak_sentence(figures: Figures) -> str:
    """Whether 16–18h was the busiest time, with the numbers."""
    busiest = figures.busiest_window
    if busiest is None:
        return "No requests, so no busiest hours."
    late = f"{hours_label(LATE_AFTERNOON)} ({plural(figures.window(LATE_AFTERNOON), 'request')})"
    if figures.late_afternoon_peak:
        return f"{late} was the peak."
    return f"{late} was not the peak: busiest was {hours_label(busiest)} ({plural(figures.window(busiest), 'request')})."


def alerts_sentence(figures: Figures) -> str:
    """Bugsnag alerts received and handled."""
    if not figures.alerts:
        return "Bugsnag: no alerts."
    text = (f"Bugsnag: {plural(figures.alerts, 'alert')} ({plural(figures.alert_events, 'event')}), "
            f"{figures.alerts_handled} handled")
    if figures.handled_median_seconds is not None:
        text += f", median {duration(figures.handled_median_seconds)} to being handled"
    return text + "."


def summary_line(figures: Figures) -> str:
    """One paragraph with the period's figures (the Wednesday handover and the stats card's text fallback)."""
    parts = [f"{figures.period.label}:"]
    if not figures.requests:
        parts.append("no #backend requests.")
    else:
        parts.append(
            f"{plural(figures.requests, '#backend request')}, first response median {duration(figures.median_seconds)}, "
            f"p90 {duration(figures.p90_seconds)}; {figures.breaches} of {figures.requests} missed the "
            f"{figures.target} target.")
        parts.append(peak_sentence(figures))
    if figures.tickets:
        parts.append(f"{plural(figures.tickets, 'Jira ticket')} created.")
    parts.append(alerts_sentence(figures))
    return " ".join(parts)
