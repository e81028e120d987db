"""Who is on support: the current and next iteration's team, as one read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..domain.iteration import Iteration, IterationPolicy
from ..domain.members import Member
from ..domain.rotation import Duty, RotationWeek, duty_on
from .ports import MemberRepository, WeekRepository


@dataclass(frozen=True)
class SupportStatus:
    """The current and next iteration, their teams, and today's duty."""

    now: datetime
    iteration: Iteration
    week: RotationWeek | None
    next_iteration: Iteration
    next_week: RotationWeek | None
    members: dict[str, Member]
    today: Duty | None

    def name(self, person: str | None) -> str:
        """A person's display name, or their id when they left the roster."""
        if not person:
            return ""
        member = self.members.get(person)
        return member.display_name if member else person

    def leads(self) -> list[Member]:
        """The active leads."""
        return [m for m in self.members.values() if m.is_lead and m.active]


async def support_status(
    now: datetime, tz: ZoneInfo, policy: IterationPolicy, members: MemberRepository, weeks: WeekRepository
) -> SupportStatus:
    """Read the current and next team in two storage round trips."""
    iteration = policy.at(now, tz)
    following = iteration.next()
    stored = {s.value.start: s.value for s in await weeks.between(iteration.start, following.start)}
    roster = {s.value.aad_object_id: s.value for s in await members.list()}
    week = stored.get(iteration.start)
    today = duty_on(week, now.astimezone(tz).date(), roster) if week else None
    return SupportStatus(now, iteration, week, following, stored.get(following.start), roster, today)


def on_duty_today(status: SupportStatus, with_fallback: bool = False) -> list[str]:
    """Who of the current team is on duty today (the pair when nobody is), optionally with the fallback."""
    if status.week is None:
        return []
    duty = status.today
    people = list(duty.on_duty) if duty and duty.on_duty else list(status.week.pair)
    if with_fallback and status.week.fallback and status.week.fallback not in people:
        people.append(status.week.fallback)
    return people
