"""Reading who is on support now: the current and next team, today's absences, and today's duty."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from ..domain.calendar import TeamCalendar
from ..domain.iteration import IterationPolicy
from ..domain.status import SupportStatus, build_status
from .ports import AbsenceRepository, MemberRepository, WeekRepository

# Who is on duty changes only when the roster, a week or an absence is written: writes through this instance
# clear the cache at once, and another instance's writes are seen within this many seconds.
CACHE_SECONDS = 10.0
_WRITES = frozenset({"add", "replace", "remove", "upsert", "delete"})


class Watched:
    """A repository whose writes tell the lookup that who is on duty may have changed."""

    def __init__(self, inner: Any, on_write: Callable[[], None]) -> None:
        self._inner = inner
        self._on_write = on_write

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _WRITES or not callable(attr):
            return attr

        async def write(*args, **kwargs):
            try:
                return await attr(*args, **kwargs)
            finally:
                self._on_write()

        return write


class SupportLookup:
    """The one place that reads the team for "who is on duty now", for paging, cards, escalations and rights.

    A request's acknowledgement names today's duty, so that answer may come from a short cache (CACHE_SECONDS)
    and the acknowledgement then waits for no read; who may do what is decided on a fresh read.
    """

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository,
                 calendar: TeamCalendar, policy: IterationPolicy, tz: ZoneInfo, clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._members = members
        self._weeks = weeks
        self._absences = absences
        self._calendar = calendar
        self._policy = policy
        self._tz = tz
        self._clock = clock
        self._monotonic = monotonic
        self._cached: tuple[date, float, SupportStatus] | None = None
        self._version = 0

    def watch(self, repository: Any) -> Watched:
        """The repository, with its writes clearing this lookup's cache."""
        return Watched(repository, self.invalidate)

    def invalidate(self) -> None:
        """Forget the cached status (a roster, week or absence was written)."""
        self._cached = None
        self._version += 1

    async def status(self, now: datetime | None = None, *, cached: bool = False) -> SupportStatus:
        """The status now, read in three round trips in parallel; with `cached`, the day's answer of the last
        CACHE_SECONDS if there is one. Rights are always decided on a fresh read; paging may use the cache."""
        now = now or self._clock()
        today = now.astimezone(self._tz).date()
        if cached and self._cached and self._cached[0] == today and self._monotonic() - self._cached[1] < CACHE_SECONDS:
            cached = self._cached[2]
            return SupportStatus(now, cached.iteration, cached.week, cached.next_iteration, cached.next_week,
                                 cached.members, cached.today, cached.local_day, cached.away_today, cached.working_day)
        version = self._version
        status = await self._read(now)
        if version == self._version:  # nothing was written while reading
            self._cached = (today, self._monotonic(), status)
        return status

    async def _read(self, now: datetime) -> SupportStatus:
        iteration = self._policy.at(now, self._tz)
        today = now.astimezone(self._tz).date()
        stored, roster, away = await asyncio.gather(
            self._weeks.between(iteration.start, iteration.next().start),
            self._members.list(),
            self._absences.overlapping(today, today),
        )
        weeks = {s.value.start: s.value for s in stored}
        members = {s.value.aad_object_id: s.value for s in roster}
        return build_status(now, self._tz, self._policy, weeks, members, away, self._calendar)
