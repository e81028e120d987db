"""The rotation calendar feed: built from real domain objects and read back with icalendar's parser."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import make_mocked_request
from icalendar import Calendar

from bot.config import ConfigError, load_settings
from bot.domain.calendar import TeamCalendar
from bot.domain.errors import StorageUnavailable
from bot.domain.members import Member
from bot.domain.planning import Absence
from bot.domain.rotation import RotationWeek
from bot.services.calendar_feed import build_feed
from bot.web.calendar import feed_handler

BERLIN = ZoneInfo("Europe/Berlin")
ALICE = Member("aad-alice", "Alice", "Alice@X.example", production_access=True, working_weekdays=frozenset({0, 1, 2, 3}))
BOB = Member("aad-bob", "Bob", "bob@x.example")
CAROL = Member("aad-carol", "Carol", "carol@x.example", production_access=True)
DORA = Member("aad-dora", "Dora", "dora@x.example")
ERIK = Member("aad-erik", "Erik", "erik@x.example", production_access=True)
ROSTER = {m.aad_object_id: m for m in (ALICE, BOB, CAROL, DORA, ERIK)}
NOW = datetime(2026, 12, 3, 10, tzinfo=BERLIN)  # a Thursday, in the iteration Wed 2 – Tue 8 Dec 2026

# Wed 2 – Tue 8 Dec: working days 2, 3, 4, 7, 8. Alice works Mon–Thu, so Carol covers her Friday.
CURRENT = RotationWeek(date(2026, 12, 2), ("aad-alice", "aad-bob"), fallback="aad-carol",
                       fallback_days=frozenset({4}), observer="aad-dora")
# Wed 23 – Tue 29 Dec: 25 Dec (a Friday) and 26 Dec are public holidays in Berlin.
CHRISTMAS = RotationWeek(date(2026, 12, 23), ("aad-bob", "aad-carol"), fallback="aad-erik", fallback_days=frozenset({4}))
EIGHT_BACK = RotationWeek(date(2026, 10, 7), ("aad-erik", "aad-carol"))
NINE_BACK = RotationWeek(date(2026, 9, 30), ("aad-erik", "aad-bob"))


def feed(weeks, absences=(), member_email=None, calendar=None, now=NOW) -> Calendar:
    """Build the feed and parse it back, as a subscribing client would."""
    raw = build_feed(weeks=weeks, members=ROSTER, absences=absences, now=now, calendar=calendar or TeamCalendar(),
                     member_email=member_email)
    return Calendar.from_ical(raw)


def by_person_and_role(cal: Calendar) -> Counter:
    """How many events each (first word of the name, role) has."""
    counts: Counter = Counter()
    for event in cal.walk("VEVENT"):
        name = str(event["SUMMARY"]).split(": ", 1)[1].split(" ")[0]
        role = [str(c) for c in event.get("CATEGORIES").cats if str(c) != "Support"][0]
        counts[(name, role)] += 1
    return counts


def starts(cal: Calendar) -> list[date]:
    """The local start day of every event."""
    return [event.decoded("DTSTART").date() for event in cal.walk("VEVENT")]


def test_the_calendar_is_a_subscribable_rfc5545_feed():
    cal = feed([CURRENT])
    assert cal.name == "VCALENDAR"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]).startswith("-//")
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["X-WR-CALNAME"]) == "Support rotation"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    (vtimezone,) = cal.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Berlin"
    events = cal.walk("VEVENT")
    assert events and all("DTSTAMP" in e and e.decoded("DTSTAMP") == NOW.astimezone(timezone.utc) for e in events)
    assert cal.get_missing_tzids() == set()


def test_one_event_per_person_per_duty_day_in_each_role():
    # Bob is away on Tue 8 Dec, so he has one pair day fewer.
    cal = feed([CURRENT], absences=[Absence("aad-bob", date(2026, 12, 8), date(2026, 12, 8))])
    assert by_person_and_role(cal) == {
        ("Alice", "Pair"): 4,  # Wed, Thu, Mon, Tue: not Friday, her day off
        ("Bob", "Pair"): 4,  # Wed, Thu, Fri, Mon
        ("Carol", "Fallback"): 1,  # Friday only
        ("Dora", "Observer"): 5,
    }


def test_events_run_through_working_hours_in_the_team_time_zone():
    events = feed([CURRENT]).walk("VEVENT")
    for event in events:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin" == event["DTEND"].params["TZID"]
        assert (start.time(), end.time()) == (time(9), time(18))
        assert start.date() == end.date()
        assert start.utcoffset() == timedelta(hours=1)  # CET in December: local times, not UTC ones
    assert min(e.decoded("DTSTART") for e in events) == datetime(2026, 12, 2, 9, tzinfo=BERLIN)


def test_summer_events_keep_local_working_hours():
    summer = RotationWeek(date(2027, 7, 7), ("aad-bob", "aad-carol"))
    (event, *_) = feed([summer], now=datetime(2027, 7, 7, 8, tzinfo=BERLIN)).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2027, 7, 7, 9, tzinfo=BERLIN)
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=2)


def test_round_the_clock_hours_end_at_the_next_midnight():
    always = TeamCalendar(weekdays=frozenset(range(7)), start=time(0), end=time.max, public_holidays=False)
    (event, *_) = feed([CURRENT], calendar=always).walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 12, 2, 0, tzinfo=BERLIN)
    assert event.decoded("DTEND") == datetime(2026, 12, 3, 0, tzinfo=BERLIN)


def test_fallback_and_observer_days_are_marked():
    events = feed([CURRENT]).walk("VEVENT")
    summaries = Counter(str(e["SUMMARY"]) for e in events)
    assert summaries["Support fallback: Carol (covers for Alice)"] == 1
    assert summaries["Support observer: Dora"] == 5
    assert summaries["Support: Bob (with Alice)"] == 4
    assert summaries["Support: Bob (with Carol)"] == 1
    fallback = next(e for e in events if "fallback" in str(e["SUMMARY"]))
    assert fallback.decoded("DTSTART").date() == date(2026, 12, 4)
    assert {str(c) for c in fallback["CATEGORIES"].cats} == {"Support", "Fallback"}


def test_the_description_marks_production_access():
    events = feed([CURRENT]).walk("VEVENT")
    alice = next(e for e in events if str(e["SUMMARY"]).startswith("Support: Alice"))
    bob = next(e for e in events if str(e["SUMMARY"]).startswith("Support: Bob"))
    assert "Production access: yes" in str(alice["DESCRIPTION"])
    assert "Production access: no" in str(bob["DESCRIPTION"])
    assert "Alice (production access), Bob" in str(bob["DESCRIPTION"])


def test_public_holidays_and_weekends_are_skipped():
    assert TeamCalendar().holiday(date(2026, 12, 25)) is not None
    days = starts(feed([CHRISTMAS], now=datetime(2026, 12, 23, 9, tzinfo=BERLIN)))
    assert date(2026, 12, 25) not in days  # a Friday: Bob, Carol and the fallback would serve but for Christmas
    assert set(days) == {date(2026, 12, 23), date(2026, 12, 24), date(2026, 12, 28), date(2026, 12, 29)}


def test_the_past_eight_weeks_and_every_planned_week_are_included():
    planned = RotationWeek(date(2027, 3, 3), ("aad-alice", "aad-erik"))
    days = set(starts(feed([NINE_BACK, EIGHT_BACK, CURRENT, planned])))
    assert date(2026, 10, 7) in days  # the iteration eight back
    assert not {d for d in days if d < date(2026, 10, 7)}  # nine back is gone
    assert date(2027, 3, 3) in days


def test_uids_are_unique_and_do_not_reveal_the_email():
    events = feed([EIGHT_BACK, CURRENT, CHRISTMAS]).walk("VEVENT")
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids))
    assert all(u.endswith("@support-rotation.bot") for u in uids)
    assert not any("@x.example" in u.lower() or "aad-" in u for u in uids)


def test_a_persons_uids_survive_a_change_of_partner():
    def alices(week: RotationWeek) -> dict[str, str]:
        return {str(e["UID"]): str(e["SUMMARY"]) for e in feed([week]).walk("VEVENT") if "Alice" in str(e["SUMMARY"]).split("(")[0]}

    swapped = RotationWeek(CURRENT.start, ("aad-alice", "aad-erik"), fallback="aad-carol",
                           fallback_days=frozenset({4}), observer="aad-dora")
    before, after = alices(CURRENT), alices(swapped)
    assert len(before) == 4
    assert set(before) == set(after)
    assert set(before.values()) != set(after.values())  # the summaries name the new partner


def test_a_member_filter_keeps_only_that_persons_duties():
    cal = feed([CURRENT], member_email="alice@x.EXAMPLE ")
    assert set(by_person_and_role(cal)) == {("Alice", "Pair")}
    assert str(cal["X-WR-CALNAME"]) == "Support rotation: Alice"


def test_an_unknown_member_gets_an_empty_but_valid_calendar():
    raw = build_feed(weeks=[CURRENT], members=ROSTER, absences=(), now=NOW, calendar=TeamCalendar(),
                     member_email="nobody@x.example")
    cal = Calendar.from_ical(raw)
    assert cal.walk("VEVENT") == []
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")


# --- the HTTP handler, with a fake loader -------------------------------------------------------------

TOKEN = "feed_token_0123456789abcdefXYZ"


async def answer(token: str, query: str, load=None):
    """Call the handler directly with a mocked request."""
    calls: list[str | None] = []

    async def fake(member_email=None) -> bytes:
        calls.append(member_email)
        return b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"

    response = await feed_handler(token, load or fake)(make_mocked_request("GET", f"/api/rotation.ics{query}"))
    return response, calls


async def test_a_good_token_gets_the_feed_with_calendar_headers():
    response, calls = await answer(TOKEN, f"?token={TOKEN}&member=Alice@X.example")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="support-rotation.ics"'
    assert "max-age=300" in response.headers["Cache-Control"]
    assert calls == ["Alice@X.example"]


@pytest.mark.parametrize(
    ("configured", "query"),
    [(TOKEN, ""), (TOKEN, "?token="), (TOKEN, f"?token={TOKEN[:-1]}"), (TOKEN, f"?token={TOKEN}x"), ("", "?token=")],
    ids=["missing", "empty", "shorter", "longer", "feed off"],
)
async def test_a_wrong_or_missing_token_gets_404_and_reads_nothing(configured, query):
    response, calls = await answer(configured, query)
    assert response.status == 404
    assert calls == []


async def test_storage_down_gets_503():
    async def broken(member_email=None) -> bytes:
        raise StorageUnavailable("no tables")

    response, _ = await answer(TOKEN, f"?token={TOKEN}", broken)
    assert response.status == 503


# --- the setting ----------------------------------------------------------------------------------------

LOCAL = {"TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true", "ALLOW_UNAUTHENTICATED": "true"}


def test_the_feed_token_is_read_and_kept_out_of_repr():
    settings = load_settings({**LOCAL, "CALENDAR_FEED_TOKEN": TOKEN})
    assert settings.calendar_feed_token == TOKEN
    assert TOKEN not in repr(settings)
    assert load_settings(LOCAL).calendar_feed_token == ""


@pytest.mark.parametrize("token", ["short-token", "a" * 23, "with space " * 3, "umlaut_ä" * 4, "slash/" * 5])
def test_a_weak_or_unsafe_feed_token_is_refused(token):
    with pytest.raises(ConfigError) as err:
        load_settings({**LOCAL, "CALENDAR_FEED_TOKEN": token})
    assert err.value.variable == "CALENDAR_FEED_TOKEN"
