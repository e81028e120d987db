"""Working days and hours: weekdays minus German public holidays for the team's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .members import WORKING_WEEK


@lru_cache(maxsize=64)
def _public_holidays(state: str, year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("DE", subdiv=state, years=year))


@dataclass(frozen=True)
class TeamCalendar:
    """The team's working days and hours, in its time zone."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
    state: str = "BE"
    weekdays: frozenset[int] = WORKING_WEEK
    start: time = time(9)
    end: time = time(18)
    public_holidays: bool = True

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on this day, if any (none when the team works through holidays)."""
        return _public_holidays(self.state, day.year).get(day) if self.public_holidays else None

    def is_working_day(self, day: date) -> bool:
        """A configured weekday that is not a public holiday."""
        return day.weekday() in self.weekdays and self.holiday(day) is None

    def is_working_time(self, instant: datetime) -> bool:
        """True inside working hours on a working day."""
        local = instant.astimezone(self.tz)
        return self.is_working_day(local.date()) and self.start <= local.time() and (self.end == time.max or local.time() < self.end)

    def next_working_start(self, instant: datetime) -> datetime:
        """The instant itself in working hours, else when working hours next begin."""
        if self.is_working_time(instant):
            return instant
        local = instant.astimezone(self.tz)
        day = local.date()
        if local.time() >= self.start:
            day += timedelta(days=1)
        for _ in range(370):
            if self.is_working_day(day):
                return datetime.combine(day, self.start, tzinfo=self.tz)
            day += timedelta(days=1)
        raise ValueError("no working day within a year; check the working weekdays")

    def add_working_seconds(self, instant: datetime, seconds: float) -> datetime:
        """The instant after `seconds` of working time have passed, counting only working hours."""
        # Arithmetic in UTC: adding a timedelta to a local time is wall-clock arithmetic in Python,
        # which is an hour off on the days the clocks change.
        current = self.next_working_start(instant).astimezone(timezone.utc)
        remaining = timedelta(seconds=seconds)
        for _ in range(370 * 2):
            day_end = self._day_end(current.astimezone(self.tz).date()).astimezone(timezone.utc)
            if current + remaining <= day_end:
                return current + remaining
            remaining -= day_end - current
            current = self.next_working_start(day_end).astimezone(timezone.utc)
        raise ValueError("working time does not advance; check the working hours")

    def _day_end(self, day: date) -> datetime:
        # An end of 24:00 is stored as time.max; the day then ends at the next midnight.
        if self.end == time.max:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return datetime.combine(day, self.end, tzinfo=self.tz)

    def describe(self) -> str:
        """A short text such as 'Mon–Fri 09:00–18:00'."""
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = sorted(self.weekdays)
        if days == list(range(days[0], days[-1] + 1)):
            span = f"{names[days[0]]}–{names[days[-1]]}"
        else:
            span = ", ".join(names[d] for d in days)
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return f"{span} {self.start:%H:%M}–{end}"
