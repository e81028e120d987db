"""Working days and hours with German public holidays from the holidays package, across DST."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.calendar import TeamCalendar

BERLIN = ZoneInfo("Europe/Berlin")
CAL = TeamCalendar()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "day, working",
    [
        (date(2026, 12, 4), True),  # a Friday
        (date(2026, 12, 5), False),  # Saturday
        (date(2026, 12, 25), False),  # Christmas Day
        (date(2026, 3, 8), False),  # International Women's Day: a holiday in Berlin only
        (date(2026, 10, 3), False),  # German Unity Day, a Saturday anyway
        (date(2026, 11, 18), True),  # Buß- und Bettag is a holiday in Saxony, not Berlin
    ],
)
def test_working_days_in_berlin(day, working):
    assert CAL.is_working_day(day) is working


def test_state_changes_the_holidays():
    saxony = TeamCalendar(state="SN")
    assert not saxony.is_working_day(date(2026, 11, 18))
    assert saxony.is_working_day(date(2026, 3, 9))
    assert saxony.holiday(date(2026, 11, 18))


def test_working_time_window():
    assert CAL.is_working_time(at(2026, 12, 4, 9, 0))
    assert CAL.is_working_time(at(2026, 12, 4, 17, 59))
    assert not CAL.is_working_time(at(2026, 12, 4, 18, 0))
    assert not CAL.is_working_time(at(2026, 12, 4, 8, 59))


def test_next_start_skips_weekend_and_christmas():
    assert CAL.next_working_start(at(2026, 12, 24, 19, 0)) == at(2026, 12, 28, 9, 0)
    assert CAL.next_working_start(at(2026, 12, 4, 7, 0)) == at(2026, 12, 4, 9, 0)
    inside = at(2026, 12, 4, 10, 0)
    assert CAL.next_working_start(inside) == inside


def test_working_seconds_carry_over_to_the_next_working_day():
    assert CAL.add_working_seconds(at(2026, 12, 4, 17, 58), 300) == at(2026, 12, 7, 9, 3)
    assert CAL.add_working_seconds(at(2026, 12, 4, 16, 0), 300) == at(2026, 12, 4, 16, 5)


def test_dst_morning_is_still_nine_local():
    # Clocks go forward on 29 March 2026; Monday's working start is 09:00 CEST = 07:00 UTC.
    start = CAL.next_working_start(at(2026, 3, 28, 12, 0))
    assert start.astimezone(timezone.utc) == datetime(2026, 3, 30, 7, 0, tzinfo=timezone.utc)
    assert CAL.next_working_start(datetime(2026, 3, 27, 17, 30, tzinfo=timezone.utc)).astimezone(timezone.utc) == datetime(2026, 3, 30, 7, 0, tzinfo=timezone.utc)


def test_custom_hours_and_description():
    cal = TeamCalendar(weekdays=frozenset({0, 1, 2, 3}), start=time(8), end=time(16, 30))
    assert cal.describe() == "Mon–Thu 08:00–16:30"
    assert not cal.is_working_day(date(2026, 12, 4))
    assert CAL.describe() == "Mon–Fri 09:00–18:00"
    assert cal.add_working_seconds(at(2026, 12, 3, 16, 29), 120) - at(2026, 12, 7, 8, 0) == timedelta(minutes=1)


def test_round_the_clock_team():
    cal = TeamCalendar(weekdays=frozenset(range(7)), start=time(0), end=time.max, public_holidays=False)
    christmas_night = at(2026, 12, 25, 23, 59)
    assert cal.is_working_time(christmas_night)
    assert cal.add_working_seconds(christmas_night, 120) == at(2026, 12, 26, 0, 1)
    assert cal.describe() == "Mon–Sun 00:00–24:00"


ROUND_THE_CLOCK = TeamCalendar(weekdays=frozenset(range(7)), start=time(0), end=time.max, public_holidays=False)


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 3, 28, 23, 58, tzinfo=timezone.utc),  # spans 02:00 -> 03:00 Berlin on 29 March
        datetime(2026, 3, 28, 22, 59, tzinfo=timezone.utc),  # spans Berlin midnight before the change
        datetime(2026, 10, 24, 23, 58, tzinfo=timezone.utc),  # spans 03:00 -> 02:00 Berlin on 25 October
        datetime(2026, 10, 25, 22, 58, tzinfo=timezone.utc),  # spans the first midnight after the change
        datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),  # local times, as the clock may hand them in
        datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN),
    ],
)
@pytest.mark.parametrize("seconds", [60, 300, 600, 3 * 3600, 26 * 3600])
def test_round_the_clock_working_time_is_elapsed_time_across_dst(start, seconds):
    # Elapsed time is measured in UTC: a local datetime plus a timedelta is wall-clock arithmetic.
    assert ROUND_THE_CLOCK.add_working_seconds(start, seconds) == start.astimezone(timezone.utc) + timedelta(seconds=seconds)


def test_office_hours_target_across_the_spring_change_counts_real_minutes():
    # Fri 27 March 17:58 + 5 working minutes: 2 min on Friday, 3 min from Monday 09:00 (after the change).
    assert CAL.add_working_seconds(at(2026, 3, 27, 17, 58), 300) == at(2026, 3, 30, 9, 3)
