"""Planning a rotation week: the rules, the coverage view and the fair suggestion."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.domain.calendar import TeamCalendar
from bot.domain.iteration import Iteration
from bot.domain.members import Member
from bot.domain.planning import Absence, Verdict, absent_days, check_team, coverage, suggest
from bot.domain.rotation import RotationWeek

CALENDAR = TeamCalendar()
START = date(2026, 12, 2)  # Wednesday; the iteration runs Wed 2 Dec - Tue 8 Dec 2026, no holidays
ITERATION = Iteration(START)
TODAY = date(2026, 11, 30)
MON_THU = frozenset({0, 1, 2, 3})
FULL_WEEK = frozenset(range(5))


def member(pid: str, name: str, prod: bool = True, **changes) -> Member:
    """A roster entry with a made-up e-mail address."""
    return Member(pid, name, f"{pid}@x.example", production_access=prod, **changes)


def roster(*people: Member) -> dict[str, Member]:
    """Members keyed by their AAD object id."""
    return {m.aad_object_id: m for m in people}


def wednesday(weeks_before: int) -> date:
    """The start of the iteration that many weeks before the one under test."""
    return START - timedelta(weeks=weeks_before)


def seasoned(*ids: str) -> list[RotationWeek]:
    """Early-2025 weeks in which everyone served several times: experienced, but long ago (no recency effect)."""
    weeks = []
    for k in range(3 * len(ids)):
        weeks.append(RotationWeek(date(2025, 1, 1) + timedelta(weeks=k), (ids[k % len(ids)], ids[(k + 1) % len(ids)])))
    return weeks


DORA = member("d1", "Dora Dev", working_weekdays=MON_THU)
PAULA = member("p1", "Paula Prod")
FRITZ = member("f1", "Fritz Full")
OLAF = member("o1", "Olaf Ops", prod=False)
BEN = member("b1", "Ben Backend", prod=False)
NICO = member("n1", "Nico New", prod=False, joined=date(2026, 11, 9))
IDA = member("i1", "Ida Inactive", active=False)
TEAM = roster(DORA, PAULA, FRITZ, OLAF, BEN, NICO, IDA)
OLD = seasoned("d1", "p1", "f1", "o1", "b1", "i1")


def check(week: RotationWeek, absences=(), history=OLD, members=TEAM) -> Verdict:
    return check_team(week, members, CALENDAR, absences, history)


def week(*pair: str, **more) -> RotationWeek:
    return RotationWeek(START, tuple(pair), **more)


# --- Absences ----------------------------------------------------------------------------------------------


def test_absent_days_are_inclusive_and_can_be_limited_to_an_iteration():
    absences = [Absence("p1", date(2026, 12, 7), date(2026, 12, 10), "outlook"), Absence("f1", START, START)]
    assert absent_days(absences, "p1") == {date(2026, 12, d) for d in (7, 8, 9, 10)}
    assert absent_days(absences, "p1", within=ITERATION) == {date(2026, 12, 7), date(2026, 12, 8)}
    assert absent_days(absences, "nobody") == set()


def test_an_absence_must_not_end_before_it_starts():
    with pytest.raises(ValueError):
        Absence("p1", date(2026, 12, 8), date(2026, 12, 7))
    with pytest.raises(ValueError):
        Absence("p1", START, START, source="fax")


# --- check_team: errors ------------------------------------------------------------------------------------


def test_a_valid_team_has_neither_errors_nor_warnings():
    verdict = check(week("p1", "f1"))
    assert verdict == Verdict([], [])
    assert verdict.valid


def test_friday_without_production_access_is_one_plain_sentence():
    verdict = check(week("d1", "o1", fallback="b1", fallback_days=frozenset({4})))
    assert verdict.errors == ["Fri 4 Dec has nobody with production access"]


def test_part_timer_alone_leaves_friday_to_one_person():
    assert check(week("d1", "p1")).errors == ["Fri 4 Dec has only one person on duty (Paula Prod)"]


def test_part_timer_covered_by_a_fallback_on_friday():
    covered = week("d1", "p1", fallback="f1", fallback_days=frozenset({4}))
    assert check(covered) == Verdict([], [])
    friday = next(c for c in coverage(covered, TEAM, CALENDAR, []) if c.day == date(2026, 12, 4))
    assert friday.on_duty == ("Paula Prod", "Fritz Full")
    assert friday.fallback_covering and friday.has_production and friday.ok
    assert friday.absent == ("Dora Dev",)


def test_the_fallback_only_counts_on_its_own_weekdays():
    verdict = check(week("d1", "p1", fallback="f1", fallback_days=frozenset({0})))
    assert verdict.errors == ["Fri 4 Dec has only one person on duty (Paula Prod)"]


def test_absences_take_people_off_duty():
    thursday_off = [Absence("f1", date(2026, 12, 3), date(2026, 12, 3), "outlook")]
    assert check(week("p1", "f1"), thursday_off).errors == ["Thu 3 Dec has only one person on duty (Paula Prod)"]
    monday_off = [Absence("p1", date(2026, 12, 7), date(2026, 12, 7))]
    assert check(week("p1", "o1"), monday_off).errors == [
        "Mon 7 Dec has only one person on duty (Olaf Ops), without production access"
    ]
    tuesday = date(2026, 12, 8)
    both_off = [Absence("p1", tuesday, tuesday), Absence("f1", tuesday, tuesday + timedelta(days=1))]
    assert check(week("p1", "f1"), both_off).errors == ["Tue 8 Dec has nobody on duty"]


def test_a_pair_without_production_access():
    errors = check(week("o1", "b1")).errors
    assert errors[0] == "Neither Olaf Ops nor Ben Backend has production access"
    assert errors[1:] == [
        f"{day} has nobody with production access"
        for day in ("Wed 2 Dec", "Thu 3 Dec", "Fri 4 Dec", "Mon 7 Dec", "Tue 8 Dec")
    ]


def test_inactive_and_unknown_people_cannot_serve():
    assert "Ida Inactive is not an active member" in check(week("p1", "i1")).errors
    assert "zz9 is not on the roster" in check(week("p1", "zz9")).errors
    assert "zz9 is not on the roster" in check(week("p1", "f1", observer="zz9")).errors


def test_the_observer_never_counts_towards_duty():
    verdict = check(week("d1", "p1", observer="n1"))
    assert verdict.errors == ["Fri 4 Dec has only one person on duty (Paula Prod)"]


def test_a_first_observer_week_is_fine():
    assert check(week("p1", "f1", observer="n1")) == Verdict([], [])


def test_a_second_observer_week_is_refused():
    observed = [*OLD, RotationWeek(wednesday(3), ("p1", "f1"), observer="n1")]
    assert check(week("p1", "f1", observer="n1"), history=observed).errors == ["Nico New already had an observer week"]
    done = {**TEAM, "n1": replace(NICO, observer_done=True)}
    assert check(week("p1", "f1", observer="n1"), members=done).errors == ["Nico New already had an observer week"]


def test_someone_who_served_cannot_observe():
    assert check(week("p1", "f1", observer="o1")).errors == ["Olaf Ops has already served and cannot be an observer"]


def test_rechecking_a_stored_week_ignores_the_week_itself_in_history():
    stored = week("p1", "f1", observer="n1")
    assert check(stored, history=[*OLD, stored]) == Verdict([], [])


def test_a_holiday_is_not_a_working_day():
    christmas = RotationWeek(date(2026, 12, 23), ("d1", "p1"))  # Fri 25 Dec 2026 is Christmas Day in Berlin
    assert check(christmas) == Verdict([], [])
    days = {c.day: c for c in coverage(christmas, TEAM, CALENDAR, [])}
    assert days[date(2026, 12, 25)].working_day is False
    assert days[date(2026, 12, 25)].holiday == "Christmas Day"
    assert days[date(2026, 12, 25)].on_duty == ()
    assert days[date(2026, 12, 26)].holiday == "Second Day of Christmas"
    assert days[date(2026, 12, 24)].working_day and days[date(2026, 12, 24)].on_duty == ("Dora Dev", "Paula Prod")
    assert all(c.ok for c in days.values())


# --- check_team: warnings ----------------------------------------------------------------------------------


def test_the_same_pair_as_last_week_is_a_warning():
    history = [*OLD, RotationWeek(wednesday(1), ("f1", "p1"))]
    verdict = check(week("p1", "f1"), history=history)
    assert verdict.valid
    assert verdict.warnings == ["Paula Prod and Fritz Full were also the pair last week"]


def test_serving_again_after_one_or_two_weeks_is_a_warning():
    last_week = [*OLD, RotationWeek(wednesday(1), ("p1", "o1"))]
    assert check(week("p1", "f1"), history=last_week).warnings == ["Paula Prod served last week"]
    two_weeks = [*OLD, RotationWeek(wednesday(2), ("o1", "b1"), fallback="p1", fallback_days=frozenset({4}))]
    assert check(week("p1", "f1"), history=two_weeks).warnings == ["Paula Prod served two weeks ago"]


def test_serving_before_an_observer_week_is_a_warning_not_an_error():
    verdict = check(week("p1", "n1"))
    assert verdict.valid
    assert verdict.warnings == ["Nico New has not had an observer week yet"]


def test_a_fallback_covering_many_days_is_a_warning():
    busy = week("p1", "f1", fallback="o1", fallback_days=frozenset({0, 1, 2}))
    assert check(busy).warnings == ["Olaf Ops covers 3 weekdays as the fallback (Mon–Wed)"]


# --- suggest -----------------------------------------------------------------------------------------------


def test_suggest_prefers_who_served_least_recently():
    people = roster(*(member(f"{c}1", f"{c.upper()}erson") for c in "abcde"))
    history = [
        *seasoned(*people),
        RotationWeek(wednesday(1), ("a1", "b1")),
        RotationWeek(wednesday(2), ("c1", "d1")),
        RotationWeek(wednesday(7), ("e1", "a1")),
    ]
    suggestion = suggest(ITERATION, people, CALENDAR, [], history, today=START)
    assert suggestion.week is not None and suggestion.verdict.valid
    assert set(suggestion.week.pair) == {"e1", "c1"}  # c1 and d1 tie; the lower id wins
    assert suggestion.reasons["e1"] == "last served 7 weeks ago, 1 time in 6 months"
    assert suggestion.week.fallback is None and suggestion.week.observer is None


def test_suggest_pairs_a_new_member_with_an_experienced_production_person():
    people = roster(
        member("p1", "Paula Prod"),
        member("o1", "Olaf Ops", prod=False),
        member("n1", "Nico New", prod=False, observer_done=True, joined=date(2026, 10, 1)),
        member("n2", "Nina New", observer_done=True, joined=date(2026, 10, 5)),
    )
    history = [*seasoned("p1", "o1"), RotationWeek(wednesday(10), ("p1", "o1"))]
    suggestion = suggest(ITERATION, people, CALENDAR, [], history, TODAY)
    assert suggestion.week is not None
    assert set(suggestion.week.pair) == {"n1", "p1"}
    assert suggestion.reasons["n1"] == (
        "never served; new, paired with Paula Prod who is experienced and has production access"
    )
    assert suggestion.reasons["p1"].endswith("experienced with production access, paired with new member Nico New")


def test_suggest_covers_a_part_timer_with_a_fallback_when_they_are_due():
    people = roster(DORA, PAULA, FRITZ, member("f2", "Frank Full"))
    history = [*seasoned(*people), RotationWeek(wednesday(1), ("f1", "f2"))]
    suggestion = suggest(ITERATION, people, CALENDAR, [], history, TODAY)
    assert suggestion.week == RotationWeek(START, ("d1", "p1"), fallback="f1", fallback_days=frozenset({4}))
    assert suggestion.reasons["f1"] == (
        "fallback for Fri (Dora Dev works Mon–Thu); served last week (on support now), 1 time in 6 months"
    )
    assert suggestion.reasons["d1"].endswith("off Fri 4 Dec, covered by the fallback")
    assert suggestion.verdict.warnings == ["Fritz Full served last week"]


def test_suggest_skips_someone_absent_all_week():
    people = roster(*(member(f"{c}1", f"{c.upper()}erson") for c in "abcde"))
    history = [*seasoned(*people), RotationWeek(wednesday(1), ("b1", "c1")), RotationWeek(wednesday(3), ("d1", "e1"))]
    assert "a1" in suggest(ITERATION, people, CALENDAR, [], history, TODAY).week.pair  # the control: a1 is due
    away = [Absence("a1", date(2026, 11, 30), date(2026, 12, 11), "outlook")]
    suggestion = suggest(ITERATION, people, CALENDAR, away, history, TODAY)
    assert suggestion.week is not None and "a1" not in suggestion.week.people()


def test_suggest_covers_a_short_absence_with_a_fallback():
    people = roster(*(member(f"{c}1", f"{c.upper()}erson") for c in "abcde"))
    history = [
        *seasoned(*people),
        RotationWeek(wednesday(1), ("c1", "d1")),
        RotationWeek(wednesday(2), ("e1", "c1")),
    ]
    friday_off = [Absence("a1", date(2026, 12, 4), date(2026, 12, 4))]
    suggestion = suggest(ITERATION, people, CALENDAR, friday_off, history, TODAY)
    assert suggestion.week == RotationWeek(START, ("a1", "b1"), fallback="e1", fallback_days=frozenset({4}))
    assert suggestion.reasons["e1"].startswith("fallback for Fri (Aerson is away Fri 4 Dec)")
    assert check_team(suggestion.week, people, CALENDAR, friday_off, history).valid


def test_suggest_adds_the_longest_waiting_newcomer_as_observer():
    people = roster(
        *(member(f"{c}1", f"{c.upper()}erson") for c in "abc"),
        member("o1", "Olga", prod=False, joined=date(2026, 11, 10)),
        member("o2", "Otto", prod=False, joined=date(2026, 10, 5)),
    )
    suggestion = suggest(ITERATION, people, CALENDAR, [], seasoned("a1", "b1", "c1"), TODAY)
    assert suggestion.week is not None
    assert suggestion.week.observer == "o2"
    assert not {"o1", "o2"} & set(suggestion.week.pair)
    assert suggestion.reasons["o2"] == "observer: joined 8 weeks ago, never served"


def _busy_team(seed: int) -> tuple[dict[str, Member], list[RotationWeek], list[Absence]]:
    rng = random.Random(seed)
    people = [
        member(f"m{i:02d}", f"Member {i}", prod=rng.random() < 0.6, working_weekdays=MON_THU if i % 5 == 0 else FULL_WEEK)
        for i in range(14)
    ]
    ids = [m.aad_object_id for m in people]
    history = [RotationWeek(wednesday(w), tuple(rng.sample(ids, 2))) for w in range(1, 60)]
    days = [START + timedelta(days=d) for d in range(0, 6, 2)]
    absences = [Absence(rng.choice(ids), day, day + timedelta(days=1)) for day in days]
    return roster(*people), history, absences


def test_suggest_is_deterministic_and_ignores_input_order():
    people, history, absences = _busy_team(7)
    first = suggest(ITERATION, people, CALENDAR, absences, history, TODAY)
    assert first == suggest(ITERATION, people, CALENDAR, absences, history, TODAY)
    rng = random.Random(1)
    shuffled_people = dict(rng.sample(list(people.items()), len(people)))
    shuffled_history = rng.sample(history, len(history))
    shuffled_absences = rng.sample(absences, len(absences))
    again = suggest(ITERATION, shuffled_people, CALENDAR, shuffled_absences, shuffled_history, TODAY)
    assert again == first


def test_suggest_another_gives_a_different_valid_team():
    people, history, absences = _busy_team(3)
    first = suggest(ITERATION, people, CALENDAR, absences, history, TODAY)
    second = suggest(ITERATION, people, CALENDAR, absences, history, TODAY, skip=1)
    assert first.week is not None and second.week is not None
    assert set(first.week.pair) != set(second.week.pair)
    assert check_team(second.week, people, CALENDAR, absences, history).valid


def test_suggest_another_runs_out_honestly():
    people = roster(PAULA, FRITZ, OLAF)
    history = seasoned(*people)
    teams = [suggest(ITERATION, people, CALENDAR, [], history, TODAY, skip=k).week for k in range(3)]
    assert {frozenset(t.pair) for t in teams} == {frozenset(p) for p in (("p1", "f1"), ("p1", "o1"), ("f1", "o1"))}
    none = suggest(ITERATION, people, CALENDAR, [], history, TODAY, skip=3)
    assert none.week is None
    assert none.why_none == ["There are only 3 valid teams for this iteration, so there is no further alternative"]


def test_no_valid_team_explains_why():
    people = roster(PAULA, OLAF, BEN)
    away = [Absence("p1", date(2026, 11, 28), date(2026, 12, 12), "outlook")]
    suggestion = suggest(ITERATION, people, CALENDAR, away, seasoned(*people), TODAY)
    assert suggestion.week is None and suggestion.reasons == {}
    assert suggestion.why_none == ["Paula Prod is the only active member with production access and is absent all week"]


def test_no_valid_team_for_too_small_a_roster():
    suggestion = suggest(ITERATION, roster(PAULA, IDA), CALENDAR, [], [], TODAY)
    assert suggestion.why_none == ["The roster has fewer than two active members"]


def test_no_valid_team_names_the_day_that_cannot_be_covered():
    people = roster(PAULA, FRITZ, OLAF)
    away = [Absence(p, date(2026, 12, 3), date(2026, 12, 3)) for p in ("p1", "f1")]
    suggestion = suggest(ITERATION, people, CALENDAR, away, seasoned(*people), TODAY)
    assert suggestion.why_none == ["Only Olaf Ops is available on Thu 3 Dec"]
