"""What the triage card learns on arrival, against Azurite: handbook suggestions, else recurring requests (injected clock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.iteration import IterationPolicy
from bot.domain.requests import Person, SupportRequest
from bot.web.references import address as teams_address
from bot.services.catalogue import Catalogue
from bot.services.handbook import Handbook
from bot.services.jobs import JobRunner
from bot.services.requests import RequestDesk, Timings
from bot.storage.handbook import TableHandbookRepository
from bot.storage.jobs import TableJobRepository
from bot.storage.requests import TableRequestRepository
from bot.storage.tables import TableStore
from tests.support.processes import ROOT, connection_string, free_port

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc)
HANDBOOK = (ROOT / "tests" / "data" / "handbook.md").read_text(encoding="utf-8")
HALL = ["Hallenplan Leipzig lädt nicht im Dashboard", "Im Dashboard fehlt schon wieder der Hallenplan von Leipzig",
        "Dashboard zeigt den Hallenplan Leipzig nicht an"]


def request(text: str, at: datetime, id_: str = "new") -> SupportRequest:
    return SupportRequest(id_, teams_address("https://x/", f"19:c;messageid={id_}"), Person("olga", "Olga Ops"), text, at,
                          at + timedelta(minutes=5), True)


async def desk(store: TableStore, earlier: list[SupportRequest] = ()) -> RequestDesk:
    """The desk over Azurite with the test handbook imported and earlier requests stored; its clock is fixed."""
    clock = lambda: NOW  # noqa: E731 - the injected clock
    requests = TableRequestRepository(store)
    for r in earlier:
        await requests.add(r)
    handbook = Handbook(TableHandbookRepository(store), clock)
    await handbook.import_markdown(HANDBOOK)
    return RequestDesk(requests=requests, lookup=None, jobs=JobRunner(TableJobRepository(store), clock),
                       messenger=None, catalogue=Catalogue(), tz=ZoneInfo("Europe/Berlin"),
                       clock=clock, timings=Timings(), handbook=handbook)


async def test_a_matching_entry_is_suggested_with_a_preview(store):
    suggestions, recurring = await (await desk(store)).hints(request("Fahrer kann sich nicht in die Fahrer-App einloggen", NOW))
    assert suggestions[0]["id"] == "courier-app-login-fails" and recurring is None
    assert suggestions[0]["preview"] and len(suggestions[0]["preview"]) <= 200


async def test_two_like_requests_within_30_days_make_it_recurring(store):
    earlier = [request(HALL[0], NOW - timedelta(days=29, hours=23), "a"), request(HALL[1], NOW - timedelta(days=2), "b"),
               request("Pizza für die Hub-Party bestellen", NOW - timedelta(days=1), "c")]
    suggestions, recurring = await (await desk(store, earlier)).hints(request(HALL[2], NOW))
    assert suggestions == []
    assert recurring["count"] == 3
    assert datetime.fromisoformat(recurring["since"]) == NOW - timedelta(days=29, hours=23)
    assert recurring["examples"] == [HALL[0], HALL[1]]


async def test_a_request_older_than_30_days_does_not_count(store):
    earlier = [request(HALL[0], NOW - timedelta(days=30, minutes=1), "a"), request(HALL[1], NOW - timedelta(days=2), "b")]
    assert await (await desk(store, earlier)).hints(request(HALL[2], NOW)) == ([], None)


async def test_a_handbook_match_wins_over_recurrence(store):
    login = ["Fahrer-App Login geht nicht", "Kurier kann sich nicht einloggen", "courier login fails again"]
    earlier = [request(t, NOW - timedelta(days=i + 1), str(i)) for i, t in enumerate(login)]
    suggestions, recurring = await (await desk(store, earlier)).hints(request("Fahrer kann sich nicht in der App einloggen", NOW))
    assert suggestions and recurring is None


async def test_an_unreachable_table_service_gives_no_hints_and_no_error(prefix):
    # A real client pointed at a port nobody listens on: the card must still go out, without hints.
    dead = connection_string(free_port())
    store = TableStore.from_connection_string(dead, prefix)
    clock = lambda: NOW  # noqa: E731
    desk_ = RequestDesk(requests=TableRequestRepository(store), lookup=None,
                        jobs=JobRunner(TableJobRepository(store), clock), messenger=None, catalogue=Catalogue(),
                        tz=ZoneInfo("Europe/Berlin"), clock=clock, timings=Timings(),
                        handbook=Handbook(TableHandbookRepository(store), clock))
    try:
        assert await desk_.hints(request("Fahrer-App Login geht nicht", NOW)) == ([], None)
    finally:
        await store.close()
