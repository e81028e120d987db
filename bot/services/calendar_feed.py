"""The rotation as an iCalendar feed: one event per person per duty day, for Outlook and Google Calendar."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from icalendar import Calendar, Event, Timezone, vDuration

from ..domain.calendar import TeamCalendar
from ..domain.members import Member
from ..domain.planning import Absence
from ..domain.rotation import Duty, RotationWeek, duty_on
from ..domain.text import join_names
from .ports import AbsenceRepository, MemberRepository, WeekRepository

PAST_WEEKS = 8
PRODID = "-//Support Rotation Bot//Rotation feed//EN"
UID_DOMAIN = "support-rotation.bot"
# Calendar clients poll subscriptions on their own schedule; this is the hint for those that honour it.
REFRESH = timedelta(hours=1)
# IterationPolicy allows iterations of up to 28 days, so a week this much older may still reach into the window.
_LONGEST_ITERATION = timedelta(days=28)


@dataclass(frozen=True)
class _Entry:
    """One person's duty on one day, before it becomes a VEVENT."""

    day: date
    role: str
    person: str
    summary: str
    description: str


def member_key(person: str) -> str:
    """A stable, non-identifying key for a member id, used in UIDs instead of an e-mail address."""
    return hashlib.sha256(person.strip().lower().encode()).hexdigest()[:16]


def event_uid(day: date, role: str, person: str) -> str:
    """The UID of a person's duty on a day: unchanged however the rest of the week changes."""
    return f"{day:%Y%m%d}-{role}-{member_key(person)}@{UID_DOMAIN}"


def window_start(today: date) -> date:
    """The feed's first day: a week that ends before it is left out (with weekly iterations: all but the last 8)."""
    return today - timedelta(weeks=PAST_WEEKS)


def build_feed(
    *,
    weeks: Iterable[RotationWeek],
    members: Mapping[str, Member],
    absences: Iterable[Absence],
    now: datetime,
    calendar: TeamCalendar,
    member_email: str | None = None,
) -> bytes:
    """The iCalendar feed of the past 8 weeks and every planned week, optionally for one member's e-mail."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = calendar.tz
    first = window_start(now.astimezone(tz).date())
    wanted = _people_with_email(members, member_email) if member_email else None
    kept = [w for w in sorted(weeks, key=lambda w: w.start) if w.iteration.end >= first]
    last = max((w.iteration.end for w in kept), default=first)
    away = _away_by_day(absences, first, last)
    feed = _calendar(tz.key, _feed_name(members, wanted), first.year, last.year)
    stamp = now.astimezone(timezone.utc)
    seen: set[str] = set()
    for week in kept:
        for day in week.iteration.days():
            if not calendar.is_working_day(day):
                continue
            duty = duty_on(week, day, members, away.get(day, ()))
            for entry in _entries(week, duty, members):
                uid = event_uid(entry.day, entry.role, entry.person)
                # Overlapping stored weeks could name the same duty twice; a feed must not repeat a UID.
                if (wanted is not None and entry.person not in wanted) or uid in seen:
                    continue
                seen.add(uid)
                feed.add_component(_event(entry, uid, stamp, calendar))
    return feed.to_ical()


async def load_feed(
    weeks: WeekRepository,
    members: MemberRepository,
    absences: AbsenceRepository,
    calendar: TeamCalendar,
    clock: Callable[[], datetime],
    member_email: str | None = None,
) -> bytes:
    """Read the weeks, the roster and the absences through the ports, then build the feed."""
    now = clock()
    first = window_start(now.astimezone(calendar.tz).date())
    stored_weeks, roster, away = await asyncio.gather(
        weeks.between(first - _LONGEST_ITERATION, date.max),
        members.list(),
        absences.overlapping(first, date.max),
    )
    return build_feed(
        weeks=[s.value for s in stored_weeks],
        members={s.value.aad_object_id: s.value for s in roster},
        absences=away,
        now=now,
        calendar=calendar,
        member_email=member_email,
    )


def _people_with_email(members: Mapping[str, Member], email: str) -> set[str]:
    wanted = email.strip().lower()
    return {person for person, m in members.items() if m.email.strip().lower() == wanted}


def _feed_name(members: Mapping[str, Member], wanted: set[str] | None) -> str:
    if wanted is None:
        return "Support rotation"
    names = sorted(members[p].display_name for p in wanted)
    return f"Support rotation: {', '.join(names)}" if names else "Support rotation"


def _away_by_day(absences: Iterable[Absence], first: date, last: date) -> dict[date, list[tuple[str, date]]]:
    # duty_on takes (person, day) pairs; indexing them by day keeps each day's lookup small.
    away: dict[date, list[tuple[str, date]]] = {}
    for absence in absences:
        day = max(absence.first, first)
        while day <= min(absence.last, last):
            away.setdefault(day, []).append((absence.person, day))
            day += timedelta(days=1)
    return away


@lru_cache(maxsize=8)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    # Only the years the feed spans: the full 1970–2038 table is kilobytes of transitions nobody needs.
    # Built once per span; serialising a shared component does not change it.
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 2, 1, 1))


def _calendar(tzid: str, name: str, first_year: int, last_year: int) -> Calendar:
    feed = Calendar()
    feed.add("prodid", PRODID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    feed.add("x-wr-calname", name)
    feed.add("x-wr-timezone", tzid)
    feed.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    feed.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())
    # Always present, so a feed without events still names the zone and holds a component (RFC 5545 wants one).
    feed.add_component(_vtimezone(tzid, first_year, last_year))
    return feed


def _name(person: str, members: Mapping[str, Member]) -> str:
    member = members.get(person)
    return member.display_name if member else person


def _has_production(person: str, members: Mapping[str, Member]) -> bool:
    member = members.get(person)
    return bool(member and member.production_access)


def _entries(week: RotationWeek, duty: Duty, members: Mapping[str, Member]) -> list[_Entry]:
    """The pair members on duty, the covering fallback and the observer of one day."""
    fallback = week.fallback if duty.fallback_covering else None

    def label(person: str) -> str:
        marks = [m for m, on in (("fallback", person == fallback), ("production access", _has_production(person, members))) if on]
        return f"{_name(person, members)} ({', '.join(marks)})" if marks else _name(person, members)

    context = [f"On duty: {', '.join(label(p) for p in duty.on_duty) or 'nobody'}"]
    if duty.observer:
        context.append(f"Observer: {_name(duty.observer, members)}")
    context.append(f"Iteration: {week.iteration.label()}")

    def entry(person: str, role: str, summary: str, what: str) -> _Entry:
        access = "yes" if _has_production(person, members) else "no"
        lines = [what, f"Production access: {access}", *context]
        return _Entry(duty.day, role, person, summary, "\n".join(lines))

    entries = []
    for person in (p for p in duty.on_duty if p in week.pair):
        others = [_name(p, members) for p in duty.on_duty if p != person]
        with_whom = f" (with {join_names(others)})" if others else ""
        entries.append(entry(person, "pair", f"Support: {_name(person, members)}{with_whom}", "Role: support pair"))
    if fallback:
        absent = join_names(_name(p, members) for p in duty.absent)
        covers = f" (covers for {absent})" if absent else ""
        entries.append(entry(fallback, "fallback", f"Support fallback: {_name(fallback, members)}{covers}",
                             f"Role: fallback{covers}"))
    replaced = {c.person: c.replaces for c in week.covers if c.day == duty.day}
    for person in (p for p in duty.on_duty if p in replaced):
        others = [_name(p, members) for p in duty.on_duty if p != person]
        with_whom = f" (with {join_names(others)})" if others else ""
        what = f"Role: stands in for {_name(replaced[person], members)} (swap)"
        entries.append(entry(person, "cover", f"Support: {_name(person, members)}{with_whom}", what))
    if duty.observer:
        name = _name(duty.observer, members)
        entries.append(entry(duty.observer, "observer", f"Support observer: {name}",
                             "Role: observer (shadows the pair; does not count for coverage)"))
    return entries


def _event(entry: _Entry, uid: str, stamp: datetime, calendar: TeamCalendar) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    start = datetime.combine(entry.day, calendar.start, tzinfo=calendar.tz)
    # Working hours ending at 24:00 are stored as time.max; the event then ends at the next midnight.
    if calendar.end == time.max:
        end = datetime.combine(entry.day + timedelta(days=1), time(0), tzinfo=calendar.tz)
    else:
        end = datetime.combine(entry.day, calendar.end, tzinfo=calendar.tz)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    event.add("categories", ["Support", entry.role.capitalize()])
    # A duty is working time, not a meeting: it must not block the person's free/busy.
    event.add("transp", "TRANSPARENT")
    return event
