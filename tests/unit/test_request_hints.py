"""What the triage card learns on arrival: handbook suggestions, else recurring requests, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.errors import StorageUnavailable
from bot.domain.handbook import parse_handbook
from bot.domain.iteration import IterationPolicy
from bot.domain.requests import Address, Person, SupportRequest
from bot.domain.versioned import Stored
from bot.services.catalogue import Catalogue
from bot.services.handbook import Handbook
from bot.services.jobs import JobRunner
from bot.services.requests import RequestDesk, Timings
from tests.support.processes import ROOT
from tests.unit.test_job_runner import FakeJobs

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)
ENTRIES = parse_handbook((ROOT / "tests" / "data" / "handbook.md").read_text(encoding="utf-8"))


class FakeHandbook:
    """The HandbookRepository port over a list; `down` makes every call fail like an unreachable Table service."""

    def __init__(self, entries, down=False) -> None:
        self.entries = {e.id: Stored(e, "1") for e in entries}
        self.down = down

    async def list(self):
        if self.down:
            raise StorageUnavailable("reading Handbook: Table Storage did not answer")
        return list(self.entries.values())

    async def get(self, entry_id):
        return self.entries.get(entry_id)


class FakeRequests:
    """The RequestRepository port's report query over a list."""

    def __init__(self, requests) -> None:
        self.requests = requests

    async def received_between(self, first, last):
        return sorted((r for r in self.requests if first <= r.received_at < last), key=lambda r: r.received_at)


def request(text: str, at: datetime, id_: str = "new") -> SupportRequest:
    return SupportRequest(id_, Address("https://x/", f"19:c;messageid={id_}"), Person("olga", "Olga Ops"), text, at,
                          at + timedelta(minutes=5), True)


def desk(handbook: FakeHandbook, earlier: list[SupportRequest]) -> RequestDesk:
    clock = lambda: NOW  # noqa: E731 - the injected clock
    return RequestDesk(requests=FakeRequests(earlier), members=None, weeks=None, jobs=JobRunner(FakeJobs(), clock),
                       messenger=None, catalogue=Catalogue(), policy=IterationPolicy(), tz=ZoneInfo("Europe/Berlin"),
                       clock=clock, timings=Timings(), handbook=Handbook(handbook, clock))


HALL = ["Hallenplan Leipzig lädt nicht im Dashboard", "Im Dashboard fehlt schon wieder der Hallenplan von Leipzig",
        "Dashboard zeigt den Hallenplan Leipzig nicht an"]


async def test_a_matching_entry_is_suggested_with_a_preview():
    suggestions, recurring = await desk(FakeHandbook(ENTRIES), []).hints(request("Fahrer kann sich nicht in die Fahrer-App einloggen", NOW))
    assert suggestions[0]["id"] == "courier-app-login-fails" and recurring is None
    assert suggestions[0]["preview"] and len(suggestions[0]["preview"]) <= 200


async def test_two_like_requests_within_30_days_make_it_recurring():
    earlier = [request(HALL[0], NOW - timedelta(days=29, hours=23), "a"), request(HALL[1], NOW - timedelta(days=2), "b"),
               request("Pizza für die Hub-Party bestellen", NOW - timedelta(days=1), "c")]
    suggestions, recurring = await desk(FakeHandbook(ENTRIES), earlier).hints(request(HALL[2], NOW))
    assert suggestions == []
    assert recurring["count"] == 3
    assert recurring["since"] == (NOW - timedelta(days=29, hours=23)).isoformat()
    assert recurring["examples"] == [HALL[0], HALL[1]]


async def test_a_request_older_than_30_days_does_not_count():
    earlier = [request(HALL[0], NOW - timedelta(days=30, minutes=1), "a"), request(HALL[1], NOW - timedelta(days=2), "b")]
    assert await desk(FakeHandbook(ENTRIES), earlier).hints(request(HALL[2], NOW)) == ([], None)


async def test_a_handbook_match_wins_over_recurrence():
    login = ["Fahrer-App Login geht nicht", "Kurier kann sich nicht einloggen", "courier login fails again"]
    earlier = [request(t, NOW - timedelta(days=i + 1), str(i)) for i, t in enumerate(login)]
    suggestions, recurring = await desk(FakeHandbook(ENTRIES), earlier).hints(request("Fahrer kann sich nicht in der App einloggen", NOW))
    assert suggestions and recurring is None


async def test_an_unreachable_handbook_gives_no_hints_and_no_error():
    assert await desk(FakeHandbook(ENTRIES, down=True), []).hints(request("Fahrer-App Login geht nicht", NOW)) == ([], None)
