"""Who is on duty on a given day."""

from datetime import date

import pytest

from bot.domain.members import Member
from bot.domain.rotation import RotationWeek, duty_on

DORA = Member("d1", "Dora", "dora@x.example", production_access=True, working_weekdays=frozenset({0, 1, 2, 3}))
PAULA = Member("d2", "Paula", "paula@x.example", production_access=True)
FRITZ = Member("d4", "Fritz", "fritz@x.example", production_access=True)
NICO = Member("d3", "Nico", "nico@x.example")
ROSTER = {m.aad_object_id: m for m in (DORA, PAULA, FRITZ, NICO)}
WEEK = RotationWeek(date(2026, 12, 2), ("d1", "d2"), fallback="d4", fallback_days=frozenset({4}), observer="d3")


def test_both_of_the_pair_on_a_normal_day():
    duty = duty_on(WEEK, date(2026, 12, 3), ROSTER)
    assert duty.on_duty == ("d1", "d2")
    assert duty.absent == ()
    assert not duty.fallback_covering
    assert duty.observer == "d3"


def test_fallback_covers_the_part_timer_on_friday():
    duty = duty_on(WEEK, date(2026, 12, 4), ROSTER)
    assert duty.on_duty == ("d2", "d4")
    assert duty.absent == ("d1",)
    assert duty.fallback_covering


def test_absence_takes_someone_off_duty():
    duty = duty_on(WEEK, date(2026, 12, 7), ROSTER, absences=[("d2", date(2026, 12, 7))])
    assert duty.on_duty == ("d1",)
    assert duty.absent == ("d2",)


def test_nobody_works_on_the_weekend():
    duty = duty_on(WEEK, date(2026, 12, 5), ROSTER)
    assert duty.on_duty == ()
    assert duty.observer is None


def test_member_who_left_the_roster_is_not_on_duty():
    duty = duty_on(WEEK, date(2026, 12, 3), {"d2": PAULA})
    assert duty.on_duty == ("d2",)
    assert duty.absent == ("d1",)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pair": ("d1", "d1")},
        {"pair": ("d1", "d2"), "fallback": "d1"},
        {"pair": ("d1", "d2"), "observer": "d2"},
        {"pair": ("d1", "d2"), "fallback_days": frozenset({4})},
    ],
)
def test_inconsistent_weeks_are_refused(kwargs):
    with pytest.raises(ValueError):
        RotationWeek(date(2026, 12, 2), **kwargs)
