"""The support catalogue file: the example is valid, mistakes name their line."""

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from bot.services.catalogue import EXAMPLE, CatalogueError, load_catalogue, parse_catalogue

BERLIN = ZoneInfo("Europe/Berlin")


def test_bundled_example_is_valid_and_complete():
    catalogue = load_catalogue("", BERLIN)
    assert [t.name for t in catalogue.trainers] == ["Dana Trainer", "Josi Trainer"]
    assert catalogue.docs and catalogue.admin_pages and catalogue.owners
    assert "Export CSV" in catalogue.self_service
    assert (catalogue.jira_project, catalogue.jira_issue_type) == ("EDGE", "Bug")
    assert catalogue.calendar.start == time(9) and catalogue.calendar.end == time(18)
    assert catalogue.calendar.state == "BE"


def test_unquoted_clock_times_are_understood():
    catalogue = parse_catalogue("working_hours:\n  start: 08:30\n  end: 17:00\n", BERLIN)
    assert (catalogue.calendar.start, catalogue.calendar.end) == (time(8, 30), time(17))


def test_request_channels_rule():
    open_catalogue = parse_catalogue("{}", BERLIN)
    assert open_catalogue.is_request_channel("19:any@thread.tacv2")
    fixed = parse_catalogue("request_channels: ['19:backend@thread.tacv2']\n", BERLIN)
    assert fixed.is_request_channel("19:backend@thread.tacv2")
    assert not fixed.is_request_channel("19:random@thread.tacv2")
    assert open_catalogue.is_request_channel("19:b@thread.tacv2", registered=frozenset({"19:b@thread.tacv2"}))
    assert not open_catalogue.is_request_channel("19:x@thread.tacv2", registered=frozenset({"19:b@thread.tacv2"}))


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("  holidays_state: BE", "  holidays_state: XX", "holidays_state must be a German state code"),
        ('  start: "09:00"', '  start: "nine"', 'working_hours.start must be a time such as "09:00"'),
        ('  end: "18:00"', '  end: "08:00"', "working_hours.end must be after start"),
        ("    url: https://wiki.liefery.example/backend/invoices", "    url: wiki/invoices", "docs[2].url must be an http(s) URL"),
        ("    aad_object_id: 6a1f2e8c-0000-4000-8000-00000000c002", "    aad_object_id: josi", "trainers[1].aad_object_id must be an Entra object id"),
        ("  project: EDGE", "  project: edge team", "jira.project must be a Jira project key"),
        ("request_channels: []", "request_channels: [backend]", "request_channels must list Teams channel ids"),
        ("self_service: |", "colour: blue\nself_service: |", "unknown top-level field 'colour'"),
    ],
)
def test_mistakes_name_their_line(old, new, expected):
    text = EXAMPLE.read_text()
    assert old in text
    broken = text.replace(old, new)
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if new.splitlines()[0] in row)
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(broken, BERLIN)
    assert any(p.startswith(f"line {line}: ") and expected in p for p in raised.value.problems), raised.value.problems


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(str(tmp_path / "missing.yaml"), BERLIN)


def test_ask_the_team_is_a_tag_or_people_or_nobody():
    assert parse_catalogue("{}", BERLIN).ask_team.tag_id == ""
    tag = parse_catalogue("ask_team:\n  tag_id: MjQz\n  tag_name: Backend\n", BERLIN).ask_team
    assert (tag.tag_id, tag.tag_name) == ("MjQz", "Backend")
    people = parse_catalogue("ask_team:\n  people:\n    - name: Ben\n      aad_object_id: 6A1F2E8C-0000-4000-8000-00000000A002\n", BERLIN).ask_team
    assert [(p.name, p.aad_object_id) for p in people.people] == [("Ben", "6a1f2e8c-0000-4000-8000-00000000a002")]
    with pytest.raises(CatalogueError) as err:
        parse_catalogue("jira:\n  project: EDGE\nask_team:\n  tag_id: MjQz\n  people:\n    - name: Ben\n      aad_object_id: nope\n", BERLIN)
    assert "line 4: ask_team needs both tag_id and tag_name" in str(err.value)
    assert "line 7: ask_team.people[0].aad_object_id must be an Entra object id (a GUID)" in str(err.value)

