"""Rotation weeks: who serves an iteration, and who is on duty on a given day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from .iteration import Iteration
from .members import Member


@dataclass(frozen=True)
class RotationWeek:
    """The team for one iteration: a pair, an optional fallback for named weekdays, an optional observer."""

    start: date
    pair: tuple[str, str]
    fallback: str | None = None
    fallback_days: frozenset[int] = field(default=frozenset())
    observer: str | None = None
    length_days: int = 7

    def __post_init__(self) -> None:
        if len(self.pair) != 2 or self.pair[0] == self.pair[1]:
            raise ValueError("a rotation week needs two different people in its pair")
        if self.fallback and self.fallback in self.pair:
            raise ValueError("the fallback must not be one of the pair")
        if self.observer and (self.observer in self.pair or self.observer == self.fallback):
            raise ValueError("the observer must not also serve")
        if self.fallback_days and not self.fallback:
            raise ValueError("fallback days need a fallback person")

    @property
    def iteration(self) -> Iteration:
        """The iteration this week covers."""
        return Iteration(self.start, self.length_days)

    def people(self) -> list[str]:
        """Everyone named on the week, serving first."""
        return [p for p in (*self.pair, self.fallback, self.observer) if p]


@dataclass(frozen=True)
class Duty:
    """Who is on duty on one day."""

    day: date
    on_duty: tuple[str, ...]
    absent: tuple[str, ...]
    fallback_covering: bool
    observer: str | None


def duty_on(
    week: RotationWeek,
    day: date,
    members: Mapping[str, Member],
    absences: Iterable[tuple[str, date]] = (),
) -> Duty:
    """Who of the week's team is on duty on a day: the pair where they work, plus the fallback on its days."""
    away = {person for person, absent_day in absences if absent_day == day}

    def present(person: str) -> bool:
        member = members.get(person)
        return member is not None and member.works_on(day) and person not in away

    on_duty = [p for p in week.pair if present(p)]
    absent = tuple(p for p in week.pair if not present(p))
    covering = bool(week.fallback) and day.weekday() in week.fallback_days and present(week.fallback)
    if covering:
        on_duty.append(week.fallback)
    observer = week.observer if week.observer and present(week.observer) else None
    return Duty(day, tuple(on_duty), absent, covering, observer)


def may_handle_requests(person: str, week: RotationWeek | None, members: Mapping[str, Member]) -> bool:
    """The current pair, the fallback and the leads may claim and triage; nobody else."""
    member = members.get(person)
    if member is not None and member.is_lead and member.active:
        return True
    return week is not None and (person in week.pair or person == week.fallback)
