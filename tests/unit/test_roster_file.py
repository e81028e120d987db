"""The roster file: every problem is reported with its line, and nothing partial is returned."""

from datetime import date
from pathlib import Path

import pytest

from bot.domain.iteration import IterationPolicy
from bot.domain.members import Role
from bot.services.roster_file import RosterFileError, dump_roster, parse_roster

POLICY = IterationPolicy()
DEMO = (Path(__file__).resolve().parents[2] / "scripts" / "demo_roster.yaml").read_text()

VALID = """\
members:
  - name: Dora Dev
    email: Dora.Dev@liefery.example
    aad_object_id: 6A1F2E8C-0000-4000-8000-00000000D001
    production_access: true
    working_days: [mon, tue, wed, thu]
    joined: 2023-04-01
    observer_done: true
  - name: Paula Prod
    email: paula@liefery.example
    aad_object_id: 6a1f2e8c-0000-4000-8000-00000000d002
    role: lead
  - name: Fritz
    email: fritz@liefery.example
    aad_object_id: 6a1f2e8c-0000-4000-8000-00000000d004
    working_days: [Mo, Di, Mi, Do, Fr]
weeks:
  - start: 2026-12-02
    pair: [dora.dev@liefery.example, paula@liefery.example]
    fallback: fritz@liefery.example
    fallback_days: [fri]
"""


def test_valid_file_parses_with_normalised_ids():
    document = parse_roster(VALID, POLICY)
    dora, paula, fritz = document.members
    assert dora.aad_object_id == "6a1f2e8c-0000-4000-8000-00000000d001"
    assert dora.email == "dora.dev@liefery.example"
    assert dora.working_weekdays == {0, 1, 2, 3}
    assert dora.joined == date(2023, 4, 1)
    assert paula.role is Role.LEAD and not paula.production_access
    assert fritz.working_weekdays == {0, 1, 2, 3, 4}
    (week,) = document.weeks
    assert week.pair == (dora.aad_object_id, paula.aad_object_id)
    assert week.fallback == fritz.aad_object_id and week.fallback_days == {4}


def test_dump_and_parse_round_trip():
    document = parse_roster(VALID, POLICY)
    assert parse_roster(dump_roster(document), POLICY) == document


def test_demo_roster_is_valid():
    assert len(parse_roster(DEMO, POLICY).members) == 5


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("    email: paula@liefery.example\n", "    email: paula\n", "line 10: members[1].email must be an e-mail address"),
        ("    role: lead\n", "    role: boss\n", "line 12: members[1].role must be member or lead"),
        ("    production_access: true\n", "    production_access: yes please\n", "line 5: members[0].production_access must be true or false"),
        ("[mon, tue, wed, thu]", "[mon, tue, someday]", "line 6: members[0].working_days: unknown weekday 'someday'"),
        ("  - start: 2026-12-02\n", "  - start: 2026-12-03\n", "line 18: weeks[0].start 2026-12-03 is a thu; iterations start on wed"),
        ("    pair: [dora.dev@liefery.example, paula@liefery.example]\n", "    pair: [dora.dev@liefery.example, ghost@liefery.example]\n", "line 19: weeks[0].pair: 'ghost@liefery.example' is not a member of this file (use their email)"),
        ("    fallback: fritz@liefery.example\n", "    fallback: paula@liefery.example\n", "line 20: weeks[0].fallback must not be one of the pair"),
        ("    joined: 2023-04-01\n", "    joined: last spring\n", "line 7: members[0].joined must be a date such as 2024-03-01"),
        ("    observer_done: true\n", "    observer_done: true\n    shoe_size: 44\n", "line 9: members[0]: unknown field 'shoe_size'"),
        ("    aad_object_id: 6a1f2e8c-0000-4000-8000-00000000d004\n", "    aad_object_id: 6a1f2e8c-0000-4000-8000-00000000d002\n", "line 15: members[2].aad_object_id '6a1f2e8c-0000-4000-8000-00000000d002' appears twice"),
    ],
)
def test_each_problem_names_its_line(old, new, expected):
    assert old in VALID
    with pytest.raises(RosterFileError) as raised:
        parse_roster(VALID.replace(old, new), POLICY)
    assert expected in raised.value.problems


def test_all_problems_are_reported_at_once_in_line_order():
    broken = VALID.replace("paula@liefery.example\n", "nobody\n").replace("role: lead", "role: king")
    with pytest.raises(RosterFileError) as raised:
        parse_roster(broken, POLICY)
    lines = [int(p.split(":")[0].removeprefix("line ")) for p in raised.value.problems]
    assert len(lines) >= 2 and lines == sorted(lines)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("members: [\n", "not valid YAML"),
        ("- just\n- a list\n", "line 1: the file must be a mapping"),
        ("members: []\n", "'members' must be a non-empty list"),
        ("members:\n  - 42\n", "members[0] must be a mapping"),
    ],
)
def test_malformed_files_are_refused_clearly(text, expected):
    with pytest.raises(RosterFileError) as raised:
        parse_roster(text, POLICY)
    assert any(expected in p for p in raised.value.problems)


def test_python_tags_are_not_executed():
    with pytest.raises(RosterFileError):
        parse_roster("members: !!python/object/apply:os.system ['true']\n", POLICY)
