"""Iterations: Wednesday to Tuesday, across DST changes and year ends."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.iteration import Iteration, IterationPolicy

BERLIN = ZoneInfo("Europe/Berlin")
POLICY = IterationPolicy()


@pytest.mark.parametrize(
    "day, start",
    [
        (date(2026, 12, 2), date(2026, 12, 2)),  # a Wednesday starts its own iteration
        (date(2026, 12, 8), date(2026, 12, 2)),  # the Tuesday after ends it
        (date(2026, 12, 9), date(2026, 12, 9)),
        (date(2026, 11, 30), date(2026, 11, 25)),  # Monday belongs to the previous Wednesday
    ],
)
def test_iteration_runs_wednesday_to_tuesday(day, start):
    iteration = POLICY.containing(day)
    assert iteration.start == start
    assert iteration.end == start + timedelta(days=6)
    assert iteration.start.weekday() == 2


def test_iteration_across_the_year_end():
    iteration = POLICY.containing(date(2027, 1, 1))
    assert (iteration.start, iteration.end) == (date(2026, 12, 30), date(2027, 1, 5))
    assert iteration.label() == "Wed 30 Dec 2026 – Tue 5 Jan 2027"
    assert iteration.next().start == date(2027, 1, 6)


def test_spring_dst_iteration_is_an_hour_short():
    iteration = POLICY.containing(date(2026, 3, 29))  # clocks go forward on Sun 29 March 2026
    first, after = iteration.bounds(BERLIN)
    assert iteration.start == date(2026, 3, 25)
    assert (after.astimezone(timezone.utc) - first.astimezone(timezone.utc)) == timedelta(hours=167)


def test_autumn_dst_iteration_is_an_hour_long():
    first, after = POLICY.containing(date(2026, 10, 25)).bounds(BERLIN)
    assert (after.astimezone(timezone.utc) - first.astimezone(timezone.utc)) == timedelta(hours=169)


def test_instant_is_judged_by_the_team_calendar_not_utc():
    # Tuesday 23:30 UTC in summer is already Wednesday 01:30 in Berlin: the new iteration.
    instant = datetime(2026, 7, 7, 23, 30, tzinfo=timezone.utc)
    assert POLICY.at(instant, BERLIN).start == date(2026, 7, 8)
    assert POLICY.at(instant, ZoneInfo("UTC")).start == date(2026, 7, 1)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        POLICY.at(datetime(2026, 7, 7, 12), BERLIN)


def test_two_week_iterations_agree_on_boundaries():
    policy = IterationPolicy(length_days=14)
    first = policy.containing(date(2026, 12, 2))
    assert policy.containing(first.end) == first
    assert policy.containing(first.end + timedelta(days=1)).start == first.start + timedelta(days=14)
    assert first.start.weekday() == 2


def test_configurable_start_weekday():
    assert IterationPolicy(start_weekday=0).containing(date(2026, 12, 2)).start == date(2026, 11, 30)
    with pytest.raises(ValueError):
        IterationPolicy(start_weekday=7)


def test_days_lists_every_calendar_day():
    assert Iteration(date(2026, 12, 30)).days()[-1] == date(2027, 1, 5)
    assert len(Iteration(date(2026, 12, 30)).days()) == 7
