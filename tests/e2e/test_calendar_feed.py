"""The rotation calendar feed, end to end: the real bot over Azurite, fetched over HTTP and parsed back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar

from tests.e2e.conftest import DORA, FRITZ, LARS, NICO, PAULA, ROSTER_E2E, SUPPORT_ALWAYS

TOKEN = "e2e-feed_Token-4f9c2a7d1b3e5f60"
WRONG = "e2e-feed_Token-4f9c2a7d1b3e5f61"


@pytest.fixture
async def iterations(storage_env):
    """The e2e roster, with this iteration (fallback every day, an observer), the next one and one ten back."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings
    from bot.domain.rotation import RotationWeek
    from bot.services.roster import import_roster
    from bot.services.roster_file import RosterDocument, parse_roster

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    document = parse_roster(ROSTER_E2E.read_text(), services.policy)
    current = services.policy.at(services.clock(), services.settings.tz)
    weeks = [
        RotationWeek(current.start, (DORA, PAULA), fallback=FRITZ, fallback_days=frozenset(range(7)), observer=NICO),
        RotationWeek(current.next().start, (FRITZ, LARS)),
        RotationWeek(current.start - timedelta(weeks=10), (DORA, LARS)),
    ]
    await import_roster(RosterDocument(document.members, weeks), services.members, services.weeks)
    await services.store.close()
    return current


@pytest.fixture
def feed_bot(start_bot, iterations):
    """The bot with the feed on, a team that works every day round the clock, and debug logging."""
    return start_bot(CALENDAR_FEED_TOKEN=TOKEN, SUPPORT_CONFIG=str(SUPPORT_ALWAYS), LOG_LEVEL="DEBUG")


async def fetch(http, bot, query: str):
    """GET the feed; the status, headers and body."""
    async with http.get(f"{bot.url}/api/rotation.ics{query}") as response:
        return response.status, response.headers, await response.read()


def summaries(body: bytes) -> list[str]:
    """Every event's summary, after parsing the feed as a client would."""
    return [str(event["SUMMARY"]) for event in Calendar.from_ical(body).walk("VEVENT")]


async def test_the_feed_serves_the_rotation_and_narrows_to_a_member(http, feed_bot, iterations):
    status, headers, body = await fetch(http, feed_bot, f"?token={TOKEN}")
    assert status == 200, body
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert 'filename="support-rotation.ics"' in headers["Content-Disposition"]
    cal = Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = cal.walk("VEVENT")
    # This iteration: 7 days of Dora, Paula, Fritz covering and Nico observing; next: 7 days of Fritz and Lars.
    assert len(events) == 7 * 4 + 7 * 2
    assert len({str(e["UID"]) for e in events}) == len(events)
    first = min(e.decoded("DTSTART").date() for e in events)
    assert first == iterations.start  # the week ten iterations back is not in the feed
    names = summaries(body)
    assert sum(s.startswith("Support fallback: Fritz Fallback") for s in names) == 7
    assert names.count("Support observer: Nico New") == 7

    status, _, body = await fetch(http, feed_bot, f"?token={TOKEN}&member=PAULA.pair@liefery.example")
    assert status == 200
    assert summaries(body) == ["Support: Paula Pair (with Dora Dev and Fritz Fallback)"] * 7

    status, _, body = await fetch(http, feed_bot, f"?token={TOKEN}&member=nobody@liefery.example")
    assert status == 200
    assert summaries(body) == [] and Calendar.from_ical(body).walk("VTIMEZONE")


async def test_a_wrong_or_missing_token_gets_404_and_no_token_reaches_the_log(http, feed_bot):
    for query in ("", "?token=", f"?token={WRONG}", f"?token={WRONG}&member=dora.dev@liefery.example"):
        status, _, body = await fetch(http, feed_bot, query)
        assert status == 404, query
        assert b"VCALENDAR" not in body
    status, _, _ = await fetch(http, feed_bot, f"?token={TOKEN}")
    assert status == 200

    log = feed_bot.log()
    assert "refused a calendar feed request" in log and '"path": "/api/rotation.ics"' in log
    assert TOKEN not in log and WRONG not in log
    assert "token=" not in log
