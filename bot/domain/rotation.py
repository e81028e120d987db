"""Rotation weeks: who serves an iteration, and who is on duty on a given day."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Callable, Iterable, Mapping

from .iteration import Iteration
from .members import Member


@dataclass(frozen=True)
class Cover:
    """One day on which someone takes over another's duty (a day swap); the one replaced is off that day."""

    day: date
    person: str
    replaces: str


@dataclass(frozen=True)
class RotationWeek:
    """The team for one iteration: a pair, an optional fallback for named weekdays, an optional observer,
    and day swaps (covers) that put someone else in a server's place on one day."""

    start: date
    pair: tuple[str, str]
    fallback: str | None = None
    fallback_days: frozenset[int] = field(default=frozenset())
    observer: str | None = None
    length_days: int = 7
    covers: tuple[Cover, ...] = ()

    def __post_init__(self) -> None:
        if len(self.pair) != 2 or self.pair[0] == self.pair[1]:
            raise ValueError("a rotation week needs two different people in its pair")
        if self.fallback and self.fallback in self.pair:
            raise ValueError("the fallback must not be one of the pair")
        if self.observer and (self.observer in self.pair or self.observer == self.fallback):
            raise ValueError("the observer must not also serve")
        if self.fallback_days and not self.fallback:
            raise ValueError("fallback days need a fallback person")
        serving = {*self.pair, self.fallback}
        for cover in self.covers:
            if not self.start <= cover.day < self.start + timedelta(days=self.length_days):
                raise ValueError("a day swap must fall within the iteration")
            if cover.replaces not in serving or cover.person in self.pair or cover.person == cover.replaces:
                raise ValueError("a day swap puts someone outside the pair in a server's place")
        if len({(c.day, c.replaces) for c in self.covers}) != len(self.covers):
            raise ValueError("a server can hand over one day only once")

    @property
    def iteration(self) -> Iteration:
        """The iteration this week covers."""
        return Iteration(self.start, self.length_days)

    def people(self) -> list[str]:
        """Everyone named on the week, serving first, then stand-ins of day swaps."""
        named = [p for p in (*self.pair, self.fallback, self.observer) if p]
        return named + [c.person for c in self.covers if c.person not in named]

    def serves(self, person: str) -> bool:
        """True for the pair and the fallback (the people with support rights all iteration)."""
        return person in self.pair or person == self.fallback

    def with_cover(self, cover: Cover) -> "RotationWeek":
        """This week with one more day swap; the week's other fallback days and swaps stay as they are."""
        kept = tuple(c for c in self.covers if (c.day, c.replaces) != (cover.day, cover.replaces))
        return replace(self, covers=tuple(sorted((*kept, cover), key=lambda c: (c.day, c.replaces))))


def serving_on(week: RotationWeek, day: date, present: Callable[[str], bool]) -> tuple[list[str], bool]:
    """Who of the week serves on a day (the pair, the fallback on its days, stand-ins), and whether the
    fallback is among them. The one rule of who is on duty: planning, paging and the calendar all use it."""
    covered = {c.replaces: c.person for c in week.covers if c.day == day}
    on_duty = [p for p in week.pair if p not in covered and present(p)]
    covering = (bool(week.fallback) and day.weekday() in week.fallback_days and week.fallback not in covered
                and present(week.fallback))
    if covering:
        on_duty.append(week.fallback)
    for person in covered.values():
        if person not in on_duty and present(person):
            on_duty.append(person)
    return on_duty, covering


def expected_on(week: RotationWeek, day: date) -> list[str]:
    """Who would serve on a day if everyone were there: the pair, the fallback on its days, stand-ins."""
    return serving_on(week, day, lambda _: True)[0]


@dataclass(frozen=True)
class Duty:
    """Who is on duty on one day, who is missing, and whom a gap in the team adds to the page."""

    day: date
    on_duty: tuple[str, ...]
    absent: tuple[str, ...]
    fallback_covering: bool
    observer: str | None
    working_day: bool = True
    # Paged as well because today's duty lacks two people or production access: the fallback, then the leads.
    extra: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()

    @property
    def paged(self) -> tuple[str, ...]:
        """Everyone to page for a request today (the observer is mentioned apart)."""
        return self.on_duty + tuple(p for p in self.extra if p not in self.on_duty)


def duty_on(
    week: RotationWeek,
    day: date,
    members: Mapping[str, Member],
    absences: Iterable[tuple[str, date]] = (),
    working_day: bool = True,
) -> Duty:
    """Who of the week's team is on duty on a day, and how a gap is filled: one computation for everything.

    On a working day the team needs two people, one with production access. When today's duty lacks
    either, the fallback is added if free, and the active leads who are in today if that is still not
    enough. Nobody absent, inactive or off that weekday is ever on the list. On a day off (weekend,
    public holiday) the pair members who are not away are paged, and no gap is reported.
    """
    away = {person for person, absent_day in absences if absent_day == day}

    def available(person: str) -> bool:
        member = members.get(person)
        return member is not None and member.active and person not in away

    def present(person: str) -> bool:
        return available(person) and members[person].works_on(day)

    if not working_day:
        on_duty = tuple(p for p in week.pair if available(p))
        absent = tuple(p for p in week.pair if not available(p))
        observer = week.observer if week.observer and available(week.observer) else None
        return Duty(day, on_duty, absent, False, observer, working_day=False)
    on_duty, covering = serving_on(week, day, present)
    absent = tuple(p for p in expected_on(week, day) if p not in on_duty)
    observer = week.observer if week.observer and present(week.observer) else None
    extra: list[str] = []
    gaps = _gaps(on_duty, members)
    if gaps and week.fallback and week.fallback not in on_duty and present(week.fallback):
        extra.append(week.fallback)
    if gaps and _gaps([*on_duty, *extra], members):
        extra.extend(m.aad_object_id for m in sorted(members.values(), key=lambda m: m.display_name)
                     if m.is_lead and present(m.aad_object_id) and m.aad_object_id not in on_duty
                     and m.aad_object_id not in extra)
    return Duty(day, tuple(on_duty), absent, covering, observer, True, tuple(extra), tuple(gaps))


def _gaps(on_duty: list[str], members: Mapping[str, Member]) -> list[str]:
    gaps = []
    if len(on_duty) < 2:
        gaps.append("nobody is on duty" if not on_duty else "only one person is on duty")
    if not any(members[p].production_access for p in on_duty):
        gaps.append("nobody on duty has production access")
    return gaps
