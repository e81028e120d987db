"""Support iterations: by default Wednesday morning to the following Tuesday evening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .text import format_day

WEDNESDAY = 2


@dataclass(frozen=True)
class IterationPolicy:
    """When iterations start and how long they run."""

    start_weekday: int = WEDNESDAY
    length_days: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.start_weekday <= 6:
            raise ValueError("start_weekday must be 0 (Monday) to 6 (Sunday)")
        if not 1 <= self.length_days <= 28:
            raise ValueError("length_days must be between 1 and 28")

    def containing(self, day: date) -> "Iteration":
        """The iteration that includes this calendar day."""
        if self.length_days % 7:
            raise ValueError("iterations that are not whole weeks need an anchor date")
        back = (day.weekday() - self.start_weekday) % 7
        start = day - timedelta(days=back)
        # Longer iterations are whole weeks counted from an epoch start, so every
        # instance agrees on the boundaries without stored state.
        weeks = self.length_days // 7
        if weeks > 1:
            epoch = date(2024, 1, 1) + timedelta(days=(self.start_weekday - 0) % 7)
            offset = ((start - epoch).days // 7) % weeks
            start -= timedelta(days=7 * offset)
        return Iteration(start, self.length_days)

    def at(self, instant: datetime, tz: ZoneInfo) -> "Iteration":
        """The iteration running at an aware instant, judged by the team's local calendar."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        return self.containing(instant.astimezone(tz).date())

    def is_start(self, day: date) -> bool:
        """True when an iteration starts on this day."""
        return self.containing(day).start == day


@dataclass(frozen=True, order=True)
class Iteration:
    """A run of calendar days served by one support team."""

    start: date
    length_days: int = 7

    @property
    def end(self) -> date:
        """The last day of the iteration (inclusive)."""
        return self.start + timedelta(days=self.length_days - 1)

    def days(self) -> list[date]:
        """Every calendar day of the iteration, in order."""
        return [self.start + timedelta(days=i) for i in range(self.length_days)]

    def next(self) -> "Iteration":
        """The iteration right after this one."""
        return Iteration(self.start + timedelta(days=self.length_days), self.length_days)

    def previous(self) -> "Iteration":
        """The iteration right before this one."""
        return Iteration(self.start - timedelta(days=self.length_days), self.length_days)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnight at the start and right after the end, as aware datetimes."""
        first = datetime.combine(self.start, time(0), tzinfo=tz)
        after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz)
        return first, after

    def includes(self, day: date) -> bool:
        """True when the day lies within the iteration."""
        return self.start <= day <= self.end

    def label(self) -> str:
        """A short human label such as 'Wed 2 Dec – Tue 8 Dec 2026'."""
        return f"{format_day(self.start, year=self.start.year != self.end.year)} – {format_day(self.end, year=True)}"


