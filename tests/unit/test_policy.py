"""The permission policy: every cell of README's table, checked against bot/domain/policy.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.domain.members import Member, Role
from bot.domain.policy import Action, Facts, may
from bot.domain.rotation import RotationWeek

README = Path(__file__).resolve().parents[2] / "README.md"


def member(aad, *, lead=False, active=True, production=True) -> Member:
    return Member(aad, aad.title(), f"{aad}@x.example", production_access=production,
                  role=Role.LEAD if lead else Role.MEMBER, active=active)


# One person per column of the README table; all with production access unless the cell says otherwise.
ROSTER = {m.aad_object_id: m for m in (
    member("pair"), member("partner"), member("fallback"), member("lead", lead=True),
    member("leftlead", lead=True, active=False), member("member"), member("leftmember", active=False),
    member("observer"),
)}
WEEK = RotationWeek(date(2026, 12, 2), ("pair", "partner"), fallback="fallback", fallback_days=frozenset({4}),
                    observer="observer")
COLUMNS = {
    "pair": "pair", "fallback": "fallback", "lead": "lead", "lead who left": "leftlead", "member": "member",
    "member who left": "leftmember", "observer": "observer", "not on the roster (e.g. the requester)": "stranger",
}


def table() -> list[tuple[Action, str, str]]:
    """(action, column, cell) for every cell of README's permission table."""
    text = README.read_text(encoding="utf-8")
    body = text.split("<!-- policy-table -->", 1)[1].split("<!-- /policy-table -->", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in body.strip().splitlines()]
    header, rows = rows[0], rows[2:]
    by_label = {a.label: a for a in Action}
    cells = []
    for row in rows:
        action = by_label[row[0]]
        cells.extend((action, column, cell) for column, cell in zip(header[1:], row[1:]))
    return cells


def test_the_table_lists_every_action_and_every_column():
    cells = table()
    assert {a for a, _, _ in cells} == set(Action)
    assert {c for _, c, _ in cells} == set(COLUMNS)


def without_production(person: str) -> dict:
    roster = dict(ROSTER)
    if person in roster:
        m = roster[person]
        roster[person] = Member(m.aad_object_id, m.display_name, m.email, production_access=False, role=m.role, active=m.active)
    return roster


@pytest.mark.parametrize("action, column, cell", table(), ids=lambda v: str(getattr(v, "value", v))[:30])
def test_every_cell_of_the_readme_table_is_what_the_policy_decides(action, column, cell):
    person = COLUMNS[column]
    plain = Facts(ROSTER, WEEK)
    if cell == "yes":
        assert may(person, action, plain)
    elif cell == "no":
        assert not may(person, action, plain)
        assert not may(person, action, Facts(ROSTER, WEEK, swap_taker=person))
        if person in ("leftlead", "leftmember", "stranger"):
            # People who left, and strangers, keep nothing: not even on a request they once claimed.
            assert not may(person, action, Facts(ROSTER, WEEK, claimed_by=person))
    elif cell == "claimer":
        assert not may(person, action, plain)
        assert may(person, action, Facts(ROSTER, WEEK, claimed_by=person))
        assert not may(person, action, Facts(ROSTER, WEEK, claimed_by=person, resolved=True))
    elif cell == "with production access":
        assert may(person, action, plain)
        assert not may(person, action, Facts(without_production(person), WEEK))
    elif cell == "claimer with production access":
        assert not may(person, action, plain)
        assert may(person, action, Facts(ROSTER, WEEK, claimed_by=person))
        assert not may(person, action, Facts(without_production(person), WEEK, claimed_by=person))
    elif cell == "if named":
        assert may(person, action, Facts(ROSTER, WEEK, swap_taker=person))
        assert not may(person, action, Facts(ROSTER, WEEK, swap_taker="member" if person != "member" else "pair"))
    else:
        pytest.fail(f"unknown cell {cell!r}")


def test_nobody_acts_without_a_current_week_except_leads_and_claimers():
    assert not may("pair", Action.HANDLE, Facts(ROSTER, None))
    assert may("lead", Action.HANDLE, Facts(ROSTER, None))
    assert may("pair", Action.HANDLE, Facts(ROSTER, None, claimed_by="pair"))


def test_every_refusal_is_a_sentence():
    for action in Action:
        decision = may("stranger", action, Facts(ROSTER, WEEK))
        assert not decision and decision.reason.endswith(".")
