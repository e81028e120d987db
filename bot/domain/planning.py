"""Planning a rotation week: absences, the rules a team must meet, a fair suggestion and day-by-day coverage."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from typing import Iterable, Iterator, Mapping, Sequence

from .calendar import TeamCalendar
from .iteration import Iteration
from .text import format_day
from .members import Member
from .rotation import RotationWeek, expected_on, serving_on

ABSENCE_SOURCES = ("manual", "outlook")

SHORT_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

FAIRNESS_WINDOW = timedelta(weeks=26)
NEW_MEMBER_WINDOW = timedelta(weeks=12)
NEW_MEMBER_MAX_SERVICES = 2
FALLBACK_USUAL_MAX_DAYS = 2

# Score weights: lower is better, and every term is >= 0 so that the pair's own
# score is a lower bound for any team built on that pair (the search relies on it).
RECENCY_HORIZON_WEEKS = 26
WEIGHT_PER_RECENT_SERVICE = 3
PENALTY_SERVED_LAST_ITERATION = 50
PENALTY_SERVED_TWO_ITERATIONS_AGO = 20
PENALTY_NOT_OBSERVED_YET = 100
PENALTY_SAME_PAIR_AS_LAST_ITERATION = 100
PENALTY_NEW_MEMBER_WITHOUT_MENTOR = 40
FALLBACK_BASE_COST = 10
FALLBACK_COST_PER_DAY = 5


# --- Absences ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Absence:
    """A person away from first to last, both days included; entered by hand or read from Outlook."""

    person: str
    first: date
    last: date
    source: str = "manual"

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("an absence must not end before it starts")
        if self.source not in ABSENCE_SOURCES:
            raise ValueError(f"unknown absence source {self.source!r}")

    def covers(self, day: date) -> bool:
        """True when the person is away on this day."""
        return self.first <= day <= self.last


def absent_days(absences: Iterable[Absence], person: str, within: Iteration | None = None) -> set[date]:
    """Every day the person is away, limited to an iteration when one is given."""
    days: set[date] = set()
    for absence in absences:
        if absence.person != person:
            continue
        first, last = absence.first, absence.last
        if within is not None:
            first, last = max(first, within.start), min(last, within.end)
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def _absence_index(absences: Iterable[Absence], iteration: Iteration) -> dict[str, frozenset[date]]:
    # Only the iteration's days matter, so a year-long absence costs no more than a short one.
    days = iteration.days()
    away: dict[str, set[date]] = {}
    for absence in absences:
        if absence.last < iteration.start or absence.first > iteration.end:
            continue
        away.setdefault(absence.person, set()).update(day for day in days if absence.covers(day))
    return {person: frozenset(days) for person, days in away.items()}


# --- History ---------------------------------------------------------------------------------------------


@dataclass
class _Record:
    last_served: date | None = None
    services: int = 0
    recent_services: int = 0
    observed: bool = False


@dataclass(frozen=True)
class _Past:
    """What history says about everyone, as of the start of one iteration; built once, read many times."""

    records: dict[str, _Record]
    previous_pairs: frozenset[frozenset[str]]
    served_previous: frozenset[str]
    served_two_ago: frozenset[str]
    iteration_length: int

    def record(self, person: str) -> _Record:
        return self.records.get(person) or _Record()

    def has_served(self, person: str) -> bool:
        return self.record(person).services > 0

    def has_observed(self, person: str, members: Mapping[str, Member]) -> bool:
        member = members.get(person)
        return self.record(person).observed or (member is not None and member.observer_done)


def _serving(week: RotationWeek) -> tuple[str, ...]:
    return (*week.pair, week.fallback) if week.fallback else week.pair


def _summarise_history(history: Iterable[RotationWeek], iteration: Iteration) -> _Past:
    # Only weeks that started before the iteration count, so re-checking a stored week
    # (which may itself be in history) or planning ahead of later weeks stays stable.
    records: dict[str, _Record] = {}
    previous, two_ago = iteration.previous(), iteration.previous().previous()
    window_start = iteration.start - FAIRNESS_WINDOW
    previous_pairs: set[frozenset[str]] = set()
    served_previous: set[str] = set()
    served_two_ago: set[str] = set()
    for week in history:
        if week.start >= iteration.start:
            continue
        for person in _serving(week):
            record = records.setdefault(person, _Record())
            record.services += 1
            record.recent_services += week.start >= window_start
            if record.last_served is None or week.start > record.last_served:
                record.last_served = week.start
        if week.observer:
            records.setdefault(week.observer, _Record()).observed = True
        if previous.includes(week.start):
            previous_pairs.add(frozenset(week.pair))
            served_previous.update(_serving(week))
        elif two_ago.includes(week.start):
            served_two_ago.update(_serving(week))
    return _Past(
        records, frozenset(previous_pairs), frozenset(served_previous), frozenset(served_two_ago), iteration.length_days
    )


# --- Wording ---------------------------------------------------------------------------------------------


def long_day(day: date) -> str:
    """A day in the bot's one date format ('Fri 5 Dec')."""
    return format_day(day)


def weekday_span(weekdays: Iterable[int]) -> str:
    """Weekdays as 'Mon–Thu' when they run on, else as 'Mon, Wed, Fri'."""
    days = sorted(set(weekdays))
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"{SHORT_DAY_NAMES[days[0]]}–{SHORT_DAY_NAMES[days[-1]]}"
    return ", ".join(SHORT_DAY_NAMES[d] for d in days)


def _name(person: str, members: Mapping[str, Member]) -> str:
    member = members.get(person)
    return member.display_name if member else person


def _iterations_ago(count: int, length_days: int) -> str:
    if length_days == 7:
        return "last week" if count == 1 else "two weeks ago"
    return "in the previous iteration" if count == 1 else "two iterations ago"


def _ago(day: date, today: date) -> str:
    days = (today - day).days
    if days < 0:
        return f"in the iteration from {format_day(day)}"
    if days < 14:
        return {0: "today", 1: "yesterday"}.get(days, f"{days} days ago")
    return f"{days // 7} weeks ago"


def _times(count: int) -> str:
    return "1 time" if count == 1 else f"{count} times"


# --- Checking a team -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What is wrong with a team (errors block it) and what is merely worth a second look (warnings)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when nothing blocks the team."""
        return not self.errors


def check_team(
    week: RotationWeek,
    members: Mapping[str, Member],
    calendar: TeamCalendar,
    absences: Iterable[Absence],
    history: Sequence[RotationWeek],
) -> Verdict:
    """Every rule a rotation week must meet (errors) and the soft concerns about it (warnings)."""
    past = _summarise_history(history, week.iteration)
    away = _absence_index(absences, week.iteration)
    return _check(week, members, calendar, away, past)


def _check(
    week: RotationWeek,
    members: Mapping[str, Member],
    calendar: TeamCalendar,
    away: Mapping[str, frozenset[date]],
    past: _Past,
) -> Verdict:
    errors = [
        *_roster_errors(week, members),
        *_production_errors(week, members),
        *_day_errors(week, members, calendar, away),
        *_observer_errors(week, members, past),
    ]
    warnings = [
        *_repeat_warnings(week, members, past),
        *_onboarding_warnings(week, members, past),
        *_fallback_warnings(week, members),
    ]
    return Verdict(errors, warnings)


def _roster_errors(week: RotationWeek, members: Mapping[str, Member]) -> list[str]:
    errors = []
    for person in week.people():
        member = members.get(person)
        if member is None:
            errors.append(f"{person} is not on the roster")
        elif not member.active:
            errors.append(f"{member.display_name} is not an active member")
    return errors


def _production_errors(week: RotationWeek, members: Mapping[str, Member]) -> list[str]:
    first, second = week.pair
    if any((m := members.get(p)) is not None and m.production_access for p in week.pair):
        return []
    return [f"Neither {_name(first, members)} nor {_name(second, members)} has production access"]


def _is_present(person: str, day: date, members: Mapping[str, Member], away: Mapping[str, frozenset[date]]) -> bool:
    member = members.get(person)
    return member is not None and member.active and member.works_on(day) and day not in away.get(person, ())


def _on_duty(
    week: RotationWeek, day: date, members: Mapping[str, Member], away: Mapping[str, frozenset[date]]
) -> list[str]:
    # The observer never counts: they shadow, they do not serve.
    return serving_on(week, day, lambda p: _is_present(p, day, members, away))[0]


def _day_errors(
    week: RotationWeek, members: Mapping[str, Member], calendar: TeamCalendar, away: Mapping[str, frozenset[date]]
) -> list[str]:
    errors = []
    for day in week.iteration.days():
        if not calendar.is_working_day(day):
            continue
        on_duty = _on_duty(week, day, members, away)
        has_production = any(members[p].production_access for p in on_duty)
        problem = _day_problem(day, [members[p].display_name for p in on_duty], has_production)
        if problem:
            errors.append(problem)
    return errors


def _day_problem(day: date, on_duty: list[str], has_production: bool) -> str | None:
    # One sentence per day, so a bad day never produces a cascade of errors.
    when = long_day(day)
    if not on_duty:
        return f"{when} has nobody on duty"
    if len(on_duty) == 1:
        without = "" if has_production else ", without production access"
        return f"{when} has only one person on duty ({on_duty[0]}){without}"
    if not has_production:
        return f"{when} has nobody with production access"
    return None


def _observer_errors(week: RotationWeek, members: Mapping[str, Member], past: _Past) -> list[str]:
    observer = week.observer
    if observer is None or observer not in members:
        return []
    name = members[observer].display_name
    if past.has_served(observer):
        return [f"{name} has already served and cannot be an observer"]
    if past.has_observed(observer, members):
        return [f"{name} already had an observer week"]
    return []


def _repeat_warnings(week: RotationWeek, members: Mapping[str, Member], past: _Past) -> list[str]:
    warnings = []
    same_pair = frozenset(week.pair) in past.previous_pairs
    if same_pair:
        first, second = (_name(p, members) for p in week.pair)
        warnings.append(f"{first} and {second} were also the pair {_iterations_ago(1, past.iteration_length)}")
    for person in _serving(week):
        if same_pair and person in week.pair:
            continue  # already said by the pair warning
        if person in past.served_previous:
            warnings.append(f"{_name(person, members)} served {_iterations_ago(1, past.iteration_length)}")
        elif person in past.served_two_ago:
            warnings.append(f"{_name(person, members)} served {_iterations_ago(2, past.iteration_length)}")
    return warnings


def _onboarding_warnings(week: RotationWeek, members: Mapping[str, Member], past: _Past) -> list[str]:
    # A warning, not an error: a newcomer may still serve, ideally after shadowing once.
    return [
        f"{members[p].display_name} has not had an observer week yet"
        for p in _serving(week)
        if p in members and not past.has_served(p) and not past.has_observed(p, members)
    ]


def _fallback_warnings(week: RotationWeek, members: Mapping[str, Member]) -> list[str]:
    if not week.fallback:
        return []
    name = _name(week.fallback, members)
    if not week.fallback_days:
        return [f"{name} is named as the fallback but covers no weekday"]
    if len(week.fallback_days) > FALLBACK_USUAL_MAX_DAYS:
        count = len(week.fallback_days)
        return [f"{name} covers {count} weekdays as the fallback ({weekday_span(week.fallback_days)})"]
    return []


# --- Coverage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCoverage:
    """Who is on duty on one day of an iteration, for the card's day-by-day view."""

    day: date
    on_duty: tuple[str, ...]
    has_production: bool
    working_day: bool
    holiday: str | None
    fallback_covering: bool = False
    absent: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True on days off, and on working days with two people on duty, one with production access."""
        return not self.working_day or (len(self.on_duty) >= 2 and self.has_production)


def coverage(
    week: RotationWeek, members: Mapping[str, Member], calendar: TeamCalendar, absences: Iterable[Absence]
) -> list[DayCoverage]:
    """Every day of the week's iteration with the display names on duty; nobody is needed on days off."""
    away = _absence_index(absences, week.iteration)
    return [_day_coverage(week, day, members, calendar, away) for day in week.iteration.days()]


def _day_coverage(
    week: RotationWeek,
    day: date,
    members: Mapping[str, Member],
    calendar: TeamCalendar,
    away: Mapping[str, frozenset[date]],
) -> DayCoverage:
    holiday = calendar.holiday(day)
    if not calendar.is_working_day(day):
        return DayCoverage(day, (), False, False, holiday)
    on_duty, covering = serving_on(week, day, lambda p: _is_present(p, day, members, away))
    absent = tuple(_name(p, members) for p in expected_on(week, day) if p not in on_duty)
    return DayCoverage(
        day=day,
        on_duty=tuple(members[p].display_name for p in on_duty),
        has_production=any(members[p].production_access for p in on_duty),
        working_day=True,
        holiday=holiday,
        fallback_covering=covering,
        absent=absent,
    )


# --- Suggesting a team -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A suggested week with one reason per person, its verdict, or why no valid team exists."""

    week: RotationWeek | None
    reasons: dict[str, str] = field(default_factory=dict)
    verdict: Verdict = field(default_factory=Verdict)
    why_none: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Team:
    score: int
    pair: tuple[str, str]
    fallback: str | None = None
    fallback_days: frozenset[int] = frozenset()
    fallback_dates: tuple[date, ...] = ()

    @property
    def key(self) -> tuple[int, tuple[str, ...], str]:
        # Ties go to the lowest ids, so the same data always gives the same answer.
        return self.score, tuple(sorted(self.pair)), self.fallback or ""


def suggest(
    iteration: Iteration,
    members: Mapping[str, Member],
    calendar: TeamCalendar,
    absences: Iterable[Absence],
    history: Sequence[RotationWeek],
    today: date,
    skip: int = 0,
    avoid: frozenset[str] = frozenset(),
) -> Suggestion:
    """The fairest valid team for an iteration, or the skip-th next best ("Suggest another"), or why there is none.

    Teams with someone in `avoid` (the people on support right now) are offered only after every other team.
    """
    if skip < 0:
        raise ValueError("skip must not be negative")
    planner = _Planner(iteration, members, calendar, list(absences), history)
    found = 0
    # Teams with someone who is on support right now come last: they are shown only when nobody else fits.
    later: list[tuple[_Team, RotationWeek, Verdict]] = []
    for team in planner.ranked_teams():
        week = planner.week_for(team)
        verdict = _check(week, members, calendar, planner.away, planner.past)
        if not verdict.valid:
            continue  # the fast search mirrors check_team; this guard keeps the promise should they ever drift
        if avoid & {*team.pair, team.fallback}:
            later.append((team, week, verdict))
            continue
        if found == skip:
            return Suggestion(week, planner.reasons(team, week, today), verdict, [])
        found += 1
    for team, week, verdict in later:
        if found == skip:
            return Suggestion(week, planner.reasons(team, week, today), verdict, [])
        found += 1
    if found:
        teams = "There is only 1 valid team" if found == 1 else f"There are only {found} valid teams"
        return Suggestion(None, why_none=[f"{teams} for this iteration, so there is no further alternative"])
    return Suggestion(None, why_none=planner.why_none())


class _Planner:
    """Everything suggest() needs, computed once per call: presence as bitmasks over working days, scores."""

    def __init__(
        self,
        iteration: Iteration,
        members: Mapping[str, Member],
        calendar: TeamCalendar,
        absences: list[Absence],
        history: Sequence[RotationWeek],
    ) -> None:
        self.iteration = iteration
        self.members = members
        self.past = _summarise_history(history, iteration)
        self.away = _absence_index(absences, iteration)
        self.working_days = [d for d in iteration.days() if calendar.is_working_day(d)]
        self.all_days = (1 << len(self.working_days)) - 1
        self.active = sorted(p for p, m in members.items() if m.active)
        self.presence = {p: self._presence_mask(p) for p in self.active}
        self.production = {p: members[p].production_access for p in self.active}
        self.penalty = {p: self._person_penalty(p) for p in self.active}
        self.new = {p: self._is_new(p) for p in self.active}
        self.by_penalty = sorted(self.active, key=lambda p: (self.penalty[p], p))
        self._fallback_cache: dict[tuple[int, bool], list[str]] = {}

    # Per person

    def _presence_mask(self, person: str) -> int:
        # Bit i is set when the person can be on duty on the i-th working day.
        mask = 0
        for i, day in enumerate(self.working_days):
            if _is_present(person, day, self.members, self.away):
                mask |= 1 << i
        return mask

    def _person_penalty(self, person: str) -> int:
        record = self.past.record(person)
        penalty = WEIGHT_PER_RECENT_SERVICE * record.recent_services
        if record.last_served is not None:
            weeks_since = (self.iteration.start - record.last_served).days // 7
            penalty += max(0, RECENCY_HORIZON_WEEKS - weeks_since)
        if person in self.past.served_previous:
            penalty += PENALTY_SERVED_LAST_ITERATION
        elif person in self.past.served_two_ago:
            penalty += PENALTY_SERVED_TWO_ITERATIONS_AGO
        if not record.services and not self.past.has_observed(person, self.members):
            penalty += PENALTY_NOT_OBSERVED_YET
        return penalty

    def _is_new(self, person: str) -> bool:
        joined = self.members[person].joined
        recently_joined = joined is not None and joined > self.iteration.start - NEW_MEMBER_WINDOW
        return recently_joined or self.past.record(person).services <= NEW_MEMBER_MAX_SERVICES

    def _is_mentor(self, person: str) -> bool:
        return not self.new[person] and self.production[person]

    # Pairs and teams

    def ranked_teams(self) -> Iterator[_Team]:
        """Valid-looking teams, best first, one per pair, found without scoring every pair when possible."""
        pending: list[tuple[tuple[int, tuple[str, ...], str], _Team]] = []
        for bound, first, second in self._pairs_by_lower_bound():
            # A pending team is final once no unseen pair can score as low (ties wait, for the id order).
            while pending and pending[0][0][0] < bound:
                yield heapq.heappop(pending)[1]
            team = self._best_team(first, second)
            if team is not None:
                heapq.heappush(pending, (team.key, team))
        while pending:
            yield heapq.heappop(pending)[1]

    def _pairs_by_lower_bound(self) -> Iterator[tuple[int, str, str]]:
        # Candidates sorted by their own penalty; pairs come out in order of the sum of the two
        # penalties (the classic k-smallest-pair-sums walk), so good pairs are met first.
        order, penalty = self.by_penalty, self.penalty
        if len(order) < 2:
            return
        frontier = [(penalty[order[0]] + penalty[order[1]], 0, 1)]
        while frontier:
            bound, i, j = heapq.heappop(frontier)
            yield bound, order[i], order[j]
            if j + 1 < len(order):
                heapq.heappush(frontier, (penalty[order[i]] + penalty[order[j + 1]], i, j + 1))
            if j == i + 1 and j + 1 < len(order):
                heapq.heappush(frontier, (penalty[order[i + 1]] + penalty[order[j + 1]], i + 1, j + 1))

    def _pair_penalty(self, first: str, second: str) -> int:
        penalty = 0
        if frozenset((first, second)) in self.past.previous_pairs:
            penalty += PENALTY_SAME_PAIR_AS_LAST_ITERATION
        for newcomer, partner in ((first, second), (second, first)):
            if self.new[newcomer] and not self._is_mentor(partner):
                penalty += PENALTY_NEW_MEMBER_WITHOUT_MENTOR
        return penalty

    def _best_team(self, first: str, second: str) -> _Team | None:
        if not (self.production[first] or self.production[second]):
            return None
        first_days, second_days = self.presence[first], self.presence[second]
        if first_days | second_days != self.all_days:
            return None  # a day with neither of the pair: a lone fallback is still only one person
        production_days = (first_days if self.production[first] else 0) | (
            second_days if self.production[second] else 0
        )
        without_production = self.all_days & ~production_days
        needed = (first_days ^ second_days) | without_production
        pair = tuple(sorted((first, second), key=lambda p: (not self.production[p], p)))
        score = self.penalty[first] + self.penalty[second] + self._pair_penalty(first, second)
        if not needed:
            return _Team(score, pair)
        fallback = self._fallback_for(needed, bool(without_production), exclude=(first, second))
        if fallback is None:
            return None
        dates = tuple(day for i, day in enumerate(self.working_days) if needed >> i & 1)
        score += self._fallback_cost(fallback, len(dates))
        return _Team(score, pair, fallback, frozenset(d.weekday() for d in dates), dates)

    def _fallback_cost(self, fallback: str, days: int) -> int:
        # A fallback serves only some days, so only that share of their own penalty counts;
        # otherwise a part-timer could never be chosen while full-timers are available.
        share = -(-self.penalty[fallback] * days // len(self.working_days))
        return FALLBACK_BASE_COST + FALLBACK_COST_PER_DAY * days + share

    def _fallback_for(self, needed: int, needs_production: bool, exclude: tuple[str, str]) -> str | None:
        # The best fallbacks depend only on the days to cover; keeping three per need means one
        # is always left after excluding the pair, so each need is searched once.
        key = (needed, needs_production)
        if key not in self._fallback_cache:
            fitting = (
                p for p in self.by_penalty
                if self.presence[p] & needed == needed and (self.production[p] or not needs_production)
            )
            self._fallback_cache[key] = list(islice(fitting, 3))
        return next((p for p in self._fallback_cache[key] if p not in exclude), None)

    def _observer_for(self, team: _Team) -> str | None:
        # The longest-waiting newcomer who can shadow on at least one working day.
        serving = {*team.pair, team.fallback}
        waiting = [p for p in self.active if p not in serving and self._waiting_to_observe(p)]
        waiting.sort(key=lambda p: (not self.presence[p], self.members[p].joined or date.max, p))
        return waiting[0] if waiting else None

    def _waiting_to_observe(self, person: str) -> bool:
        return not self.past.has_served(person) and not self.past.has_observed(person, self.members)

    def week_for(self, team: _Team) -> RotationWeek:
        """The rotation week for a team, with an observer when a newcomer is waiting."""
        return RotationWeek(
            start=self.iteration.start,
            pair=team.pair,
            fallback=team.fallback,
            fallback_days=team.fallback_days,
            observer=self._observer_for(team),
            length_days=self.iteration.length_days,
        )

    # Explanations

    def reasons(self, team: _Team, week: RotationWeek, today: date) -> dict[str, str]:
        """One line per chosen person saying why they were picked."""
        first, second = team.pair
        reasons = {
            first: self._pair_reason(first, second, team, today),
            second: self._pair_reason(second, first, team, today),
        }
        if team.fallback:
            reasons[team.fallback] = self._fallback_reason(team, today)
        if week.observer:
            reasons[week.observer] = self._observer_reason(week.observer, today)
        return reasons

    def _service_summary(self, person: str, today: date) -> str:
        # The same words as the warnings ("served last week"), so a reason and a warning never disagree.
        record = self.past.record(person)
        if record.last_served is None:
            return "never served"
        if person in self.past.served_previous:
            when = f"served {_iterations_ago(1, self.iteration.length_days)}"
            if self.iteration.previous().includes(today):
                when += " (on support now)"
        elif person in self.past.served_two_ago:
            when = f"served {_iterations_ago(2, self.iteration.length_days)}"
        else:
            when = f"last served {_ago(record.last_served, today)}"
        if not record.recent_services:
            return f"{when}, not in the last 6 months"
        return f"{when}, {_times(record.recent_services)} in 6 months"

    def _pair_reason(self, person: str, partner: str, team: _Team, today: date) -> str:
        parts = [self._service_summary(person, today)]
        partner_name = self.members[partner].display_name
        if self.new[person] and self._is_mentor(partner):
            parts.append(f"new, paired with {partner_name} who is experienced and has production access")
        elif self._is_mentor(person) and self.new[partner]:
            parts.append(f"experienced with production access, paired with new member {partner_name}")
        off = [d for d in team.fallback_dates if not self.presence[person] >> self.working_days.index(d) & 1]
        if off:
            parts.append(f"off {', '.join(format_day(d) for d in off)}, covered by the fallback")
        return "; ".join(parts)

    def _fallback_reason(self, team: _Team, today: date) -> str:
        causes: list[str] = []
        for day in team.fallback_dates:
            for cause in self._why_needed(day, team):
                if cause not in causes:
                    causes.append(cause)
        days = weekday_span(team.fallback_days)
        return f"fallback for {days} ({'; '.join(causes)}); {self._service_summary(team.fallback, today)}"

    def _why_needed(self, day: date, team: _Team) -> list[str]:
        causes = []
        for person in team.pair:
            member = self.members[person]
            if not member.works_on(day):
                causes.append(f"{member.display_name} works {weekday_span(member.working_weekdays)}")
            elif day in self.away.get(person, ()):
                causes.append(f"{member.display_name} is away {format_day(day)}")
        if not causes:
            causes.append(f"nobody of the pair has production access on {format_day(day)}")
        return causes

    def _observer_reason(self, person: str, today: date) -> str:
        joined = self.members[person].joined
        if joined is None:
            return "observer: never served, no observer week yet"
        return f"observer: joined {_ago(joined, today)}, never served"

    # When nobody fits

    def why_none(self) -> list[str]:
        """Plain reasons why no pair, with or without a fallback, can cover the iteration."""
        if len(self.active) < 2:
            return ["The roster has fewer than two active members"]
        with_production = [p for p in self.active if self.production[p]]
        if not with_production:
            return ["No active member has production access"]
        available = [p for p in with_production if self.presence[p]]
        if not available:
            return [self._production_all_away(with_production)]
        reasons = [r for i, day in enumerate(self.working_days) if (r := self._day_shortage(i, day))]
        return reasons or [
            "No pair covers every working day with two people, one of them with production access, "
            "even with a fallback for the days one of them is off"
        ]

    def _production_all_away(self, with_production: list[str]) -> str:
        if len(with_production) > 1:
            return "Every active member with production access is away on every working day of the iteration"
        person = with_production[0]
        name = self.members[person].display_name
        works = any(self.members[person].works_on(d) for d in self.working_days)
        whole = "all week" if self.iteration.length_days == 7 else "for the whole iteration"
        away = f"is absent {whole}" if works else "does not work on any working day of the iteration"
        return f"{name} is the only active member with production access and {away}"

    def _day_shortage(self, index: int, day: date) -> str | None:
        here = [p for p in self.active if self.presence[p] >> index & 1]
        when = long_day(day)
        if not here:
            return f"Nobody is available on {when}"
        if len(here) == 1:
            return f"Only {self.members[here[0]].display_name} is available on {when}"
        if not any(self.production[p] for p in here):
            return f"Nobody with production access is available on {when}"
        return None
