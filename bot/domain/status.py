"""Who is on support now: the current and next team and today's duty, computed once from stored data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from .calendar import TeamCalendar
from .iteration import Iteration, IterationPolicy
from .members import Member
from .planning import Absence
from .policy import Facts, active_leads
from .rotation import Duty, RotationWeek, duty_on
from .text import join_names


@dataclass(frozen=True)
class SupportStatus:
    """The current and next iteration, their teams, and today's duty (with absences and the gap rule applied)."""

    now: datetime
    iteration: Iteration
    week: RotationWeek | None
    next_iteration: Iteration
    next_week: RotationWeek | None
    members: Mapping[str, Member]
    today: Duty | None
    local_day: date
    away_today: frozenset[str] = frozenset()
    working_day: bool = True

    def name(self, person: str | None) -> str:
        """A person's display name, or their id when they left the roster."""
        if not person:
            return ""
        member = self.members.get(person)
        return member.display_name if member else person

    def names(self, people: Iterable[str]) -> str:
        """Display names joined as in a sentence."""
        return join_names(self.name(p) for p in people)

    def leads(self) -> list[Member]:
        """The active leads."""
        return active_leads(self.members)

    def is_free(self, person: str) -> bool:
        """Active, not away today, and working today when it is a working day."""
        member = self.members.get(person)
        if member is None or not member.active or person in self.away_today:
            return False
        return not self.working_day or member.works_on(self.today_date)

    def available_leads(self) -> list[str]:
        """The active leads who are in today: not away, and working today when it is a working day."""
        return [m.aad_object_id for m in self.leads() if self.is_free(m.aad_object_id)]

    @property
    def today_date(self):
        """Today in the team's time zone."""
        return self.today.day if self.today else self.local_day

    def paged(self) -> tuple[str, ...]:
        """Whom a new request pages today: today's duty (plus the fallback or leads for a gap), else the leads."""
        if self.week is None or self.today is None:
            return tuple(self.available_leads())
        return self.today.paged

    def facts(self, claimed_by: str = "", resolved: bool = False) -> Facts:
        """The permission facts for an action now."""
        return Facts(self.members, self.week, claimed_by, resolved)


def build_status(now: datetime, tz: ZoneInfo, policy: IterationPolicy, weeks: Mapping, roster: Mapping[str, Member],
                 absences: Iterable[Absence], calendar: TeamCalendar) -> SupportStatus:
    """The status from already-read weeks (by start date), roster and today's absences."""
    iteration = policy.at(now, tz)
    following = iteration.next()
    week = weeks.get(iteration.start)
    today = now.astimezone(tz).date()
    away = [(a.person, today) for a in absences if a.covers(today)]
    working = calendar.is_working_day(today)
    duty = duty_on(week, today, roster, away, working) if week else None
    return SupportStatus(now, iteration, week, following, weeks.get(following.start), roster, duty, today,
                         frozenset(person for person, _ in away), working)
