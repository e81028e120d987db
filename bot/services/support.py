"""Reading who is on support now: the current and next team, today's absences, and today's duty."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.calendar import TeamCalendar
from ..domain.iteration import IterationPolicy
from ..domain.status import SupportStatus, build_status
from .ports import AbsenceRepository, MemberRepository, WeekRepository


class SupportLookup:
    """The one place that reads the team for "who is on duty now", for paging, cards, escalations and rights."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository,
                 calendar: TeamCalendar, policy: IterationPolicy, tz: ZoneInfo, clock: Callable[[], datetime]) -> None:
        self._members = members
        self._weeks = weeks
        self._absences = absences
        self._calendar = calendar
        self._policy = policy
        self._tz = tz
        self._clock = clock

    async def status(self, now: datetime | None = None) -> SupportStatus:
        """Read the current and next team, the roster and today's absences (three round trips, in parallel)."""
        now = now or self._clock()
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

    async def status_on(self, day_offset: int = 0) -> SupportStatus:
        """The status a number of days from now (for tests and previews)."""
        return await self.status(self._clock() + timedelta(days=day_offset))
