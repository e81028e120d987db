"""Property tests: a suggestion is always valid, and 'no team' is only said when no team exists."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import combinations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.domain.calendar import TeamCalendar
from bot.domain.iteration import Iteration
from bot.domain.members import Member, Role
from bot.domain.planning import Absence, check_team, suggest
from bot.domain.rotation import RotationWeek

CALENDAR = TeamCalendar()
# Wednesdays around Easter, Ascension, Labour Day and Christmas in Berlin, and two plain weeks.
STARTS = [
    date(2026, 4, 1), date(2026, 5, 13), date(2026, 4, 29), date(2026, 12, 23), date(2026, 12, 2), date(2027, 2, 3),
]
EVERY_WEEKDAY = frozenset(range(7))
BRUTE_FORCE_MAX_MEMBERS = 6
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Scenario:
    """One generated planning problem."""

    iteration: Iteration
    members: dict[str, Member]
    history: list[RotationWeek]
    absences: list[Absence]
    today: date


# Cheap strategies (integers and booleans) keep data generation from dominating the run time.
FULL_TIME, MON_THU, TUE_FRI = 0b11111, 0b01111, 0b11110
weekday_masks = st.one_of(
    st.sampled_from([FULL_TIME, FULL_TIME, FULL_TIME, MON_THU, TUE_FRI]), st.integers(1, 0b1111111)
)
join_offsets = st.none() | st.integers(-700, 90)
member_fields = st.tuples(
    st.sampled_from([True, True, False]), weekday_masks, join_offsets, st.booleans(), st.sampled_from(list(Role)),
    st.sampled_from([True, True, True, True, False]),
)


def member_from(index: int, fields: tuple, iteration: Iteration) -> Member:
    """A roster entry: random production access, schedule, join date, observer flag, role and activity."""
    production, mask, joined, observer_done, role, active = fields
    return Member(
        aad_object_id=f"m{index:02d}",
        display_name=f"Member {index}",
        email=f"m{index}@x.example",
        production_access=production,
        working_weekdays=frozenset(d for d in range(7) if mask >> d & 1),
        joined=None if joined is None else iteration.start + timedelta(days=joined),
        observer_done=observer_done,
        role=role,
        active=active,
    )


@st.composite
def rotation_weeks(draw, ids: list[str], iteration: Iteration) -> RotationWeek:
    """A past (or occasionally later) week with a random pair, maybe a fallback and an observer."""
    start = iteration.start + timedelta(weeks=draw(st.integers(-60, 3)))
    people = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=min(4, len(ids)), unique=True))
    fallback = people[2] if len(people) > 2 else None
    observer = people[3] if len(people) > 3 else None
    days = draw(st.frozensets(st.integers(0, 4), min_size=1)) if fallback else frozenset()
    return RotationWeek(start, (people[0], people[1]), fallback, days, observer)


@st.composite
def absences(draw, ids: list[str], iteration: Iteration) -> Absence:
    """An absence that may start before, inside or after the iteration."""
    first = iteration.start + timedelta(days=draw(st.integers(-5, iteration.length_days + 2)))
    last = first + timedelta(days=draw(st.integers(0, 5)))
    return Absence(draw(st.sampled_from(ids)), first, last, draw(st.sampled_from(["manual", "outlook"])))


@st.composite
def scenarios(draw, max_members: int = 15) -> Scenario:
    """A random roster, history and absences for one iteration."""
    iteration = Iteration(draw(st.sampled_from(STARTS)), draw(st.sampled_from([7, 7, 7, 14])))
    fields = draw(st.lists(member_fields, min_size=2, max_size=max_members))
    roster = {m.aad_object_id: m for m in (member_from(i, f, iteration) for i, f in enumerate(fields))}
    ids = sorted(roster)
    history = draw(st.lists(rotation_weeks(ids, iteration), max_size=12))
    away = draw(st.lists(absences(ids, iteration), max_size=6))
    today = iteration.start - timedelta(days=draw(st.integers(0, 10)))
    return Scenario(iteration, roster, history, away, today)


def suggest_for(scenario: Scenario, skip: int = 0):
    return suggest(
        scenario.iteration, scenario.members, CALENDAR, scenario.absences, scenario.history, scenario.today, skip
    )


def verdict_for(scenario: Scenario, week: RotationWeek):
    return check_team(week, scenario.members, CALENDAR, scenario.absences, scenario.history)


def some_valid_team_exists(scenario: Scenario) -> bool:
    """Brute force over every pair and every fallback (or none), with no observer.

    Each fallback covers every weekday: more fallback days never take anyone off duty, so if any
    choice of days works, all days work too; an observer can only add errors, so none is the
    most permissive choice.
    """
    ids = sorted(scenario.members)
    for pair in combinations(ids, 2):
        options = [RotationWeek(scenario.iteration.start, pair, length_days=scenario.iteration.length_days)]
        options += [
            RotationWeek(scenario.iteration.start, pair, f, EVERY_WEEKDAY, length_days=scenario.iteration.length_days)
            for f in ids
            if f not in pair
        ]
        if any(verdict_for(scenario, week).valid for week in options):
            return True
    return False


@SETTINGS
@given(scenarios())
def test_a_suggestion_is_valid_or_explains_why_there_is_none(scenario: Scenario):
    suggestion = suggest_for(scenario)
    if suggestion.week is None:
        assert suggestion.why_none and all(suggestion.why_none)
        return
    week = suggestion.week
    assert week.start == scenario.iteration.start and week.length_days == scenario.iteration.length_days
    verdict = verdict_for(scenario, week)
    assert verdict.errors == []
    assert verdict == suggestion.verdict
    assert set(suggestion.reasons) == set(week.people())
    assert suggestion.why_none == []


@SETTINGS
@given(scenarios(max_members=BRUTE_FORCE_MAX_MEMBERS))
def test_no_team_is_only_said_when_brute_force_finds_none(scenario: Scenario):
    suggestion = suggest_for(scenario)
    event("no team" if suggestion.week is None else "a team")
    if suggestion.week is None:
        assert not some_valid_team_exists(scenario)


@settings(max_examples=50, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_suggestion(scenario: Scenario, rng: random.Random):
    shuffled = Scenario(
        scenario.iteration,
        dict(rng.sample(list(scenario.members.items()), len(scenario.members))),
        rng.sample(scenario.history, len(scenario.history)),
        rng.sample(scenario.absences, len(scenario.absences)),
        scenario.today,
    )
    assert suggest_for(shuffled) == suggest_for(scenario)


@settings(max_examples=50, deadline=None)
@given(scenarios())
def test_suggest_another_is_a_different_valid_pair(scenario: Scenario):
    first, second = suggest_for(scenario), suggest_for(scenario, skip=1)
    if first.week is None:
        assert second.week is None
        return
    if second.week is not None:
        assert set(second.week.pair) != set(first.week.pair)
        assert verdict_for(scenario, second.week).valid
