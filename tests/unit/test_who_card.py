"""The who card shows the iteration, the pair with production access, fallback, observer and next team."""

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.domain.iteration import IterationPolicy
from bot.domain.members import Member, Role
from bot.domain.calendar import TeamCalendar
from bot.domain.planning import Absence
from bot.domain.rotation import RotationWeek
from bot.domain.status import build_status
from cards.who import who_card
from tests.support.cardcheck import assert_valid_cards

ROSTER = {
    m.aad_object_id: m
    for m in (
        Member("d1", "Dora Dev", "d@x.example", production_access=True, working_weekdays=frozenset({0, 1, 2, 3})),
        Member("d2", "Paula Prod", "p@x.example"),
        Member("d3", "Nico New", "n@x.example"),
        Member("d4", "Fritz Fallback", "f@x.example", production_access=True),
        Member("e1", "Lars Lead", "l@x.example", role=Role.LEAD),
    )
}
NOW = datetime(2026, 12, 4, 10, tzinfo=timezone.utc)  # a Friday
POLICY = IterationPolicy()


def status(week=None, next_week=None, absences=()):
    weeks = {w.start: w for w in (week, next_week) if w}
    return build_status(NOW, ZoneInfo("Europe/Berlin"), POLICY, weeks, ROSTER, absences, TeamCalendar())


def card_text(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def test_full_team_card():
    week = RotationWeek(date(2026, 12, 2), ("d1", "d2"), fallback="d4", fallback_days=frozenset({4}), observer="d3")
    card = who_card(status(week, RotationWeek(date(2026, 12, 9), ("e1", "d4"))))
    text = card_text(card)
    assert "Wed 2 Dec – Tue 8 Dec 2026" in text
    assert "Dora Dev (production access) and Paula Prod (no production access)" in text
    assert "Fritz Fallback (Fri)" in text
    assert "Nico New" in text
    assert "Today (Fri 4 Dec): Paula Prod and Fritz Fallback on duty; off today: Dora Dev" in text
    assert "⚠️" not in text
    assert "Lars Lead (no production access) and Fritz Fallback (production access)" in text
    assert_valid_cards(card)


def test_empty_rotation_names_the_leads():
    card = who_card(status())
    text = card_text(card)
    assert "Nobody is set for this iteration. Ask Lars Lead to pick a pair" in text
    assert "Not picked yet." in text
    assert_valid_cards(card)


def test_member_who_left_is_shown_as_such():
    card = who_card(status(RotationWeek(date(2026, 12, 2), ("d1", "gone"))))
    assert "gone (no longer on the roster)" in card_text(card)


def test_an_absence_shows_as_the_page_would_fill_the_gap():
    # Thursday: Dora (the only production access of the pair) is away; Fritz is free and fills the gap.
    week = RotationWeek(date(2026, 12, 2), ("d1", "d2"), fallback="d4", fallback_days=frozenset({4}))
    thursday = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
    weeks = {week.start: week}
    current = build_status(thursday, ZoneInfo("Europe/Berlin"), POLICY, weeks, ROSTER,
                           [Absence("d1", date(2026, 12, 3), date(2026, 12, 3))], TeamCalendar())
    text = card_text(who_card(current))
    assert "Today (Thu 3 Dec): Paula Prod on duty; off today: Dora Dev" in text
    assert "⚠️ Today only one person is on duty and nobody on duty has production access. A request also pages Fritz Fallback." in text
    assert current.paged() == ("d2", "d4")
