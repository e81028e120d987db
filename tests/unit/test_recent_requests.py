"""The recurring hint's memory of recent requests: read from storage once in a while, not for every card."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.requests import Person, SupportRequest
from bot.services.recent import RecentRequests
from bot.web.references import address

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)
TEXT = "Tourexport Hamburg geht schon wieder nicht"


def request(id_: str, at: datetime, text: str = "Tourexport Hamburg geht nicht") -> SupportRequest:
    return SupportRequest(id_, address("https://x/", f"19:c;messageid={id_}"), Person("olga", "Olga Ops"), text, at,
                          at + timedelta(minutes=5), True)


class FakeRequests:
    """Stored requests; counts the reads of a time window."""

    def __init__(self, stored: list[SupportRequest]) -> None:
        self.stored = stored
        self.reads = 0
        self.since: list[datetime] = []

    async def received_between(self, first: datetime, last: datetime) -> list[SupportRequest]:
        self.reads += 1
        self.since.append(first)
        return sorted((r for r in self.stored if first <= r.received_at < last), key=lambda r: r.received_at)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def test_a_rush_of_cards_reads_storage_once_and_sees_its_own_new_requests():
    stored = FakeRequests([request("a", NOW - timedelta(days=3)), request("b", NOW - timedelta(hours=1))])
    clock = Clock()
    recent = RecentRequests(stored, clock)
    for i in range(30):
        new = request(f"n{i}", NOW)
        recent.add(new)
        earlier = await recent.like(TEXT, NOW - timedelta(days=30), NOW + timedelta(seconds=1))
        assert {"a", "b", f"n{i}"} <= {r.id for r in earlier}
    assert stored.reads == 1


async def test_requests_of_other_instances_show_up_after_the_refresh():
    stored = FakeRequests([])
    clock = Clock()
    recent = RecentRequests(stored, clock, refresh=timedelta(minutes=5))
    assert await recent.like(TEXT, NOW - timedelta(days=30), NOW) == []
    stored.stored.append(request("elsewhere", NOW - timedelta(seconds=10)))
    clock.now = NOW + timedelta(minutes=4)
    assert await recent.like(TEXT, NOW - timedelta(days=30), clock.now) == []
    clock.now = NOW + timedelta(minutes=6)
    assert [r.id for r in await recent.like(TEXT, NOW - timedelta(days=30), clock.now)] == ["elsewhere"]
    assert stored.reads == 2
    # The month was read once; a refresh reads the last hour only (late and other instances' requests included).
    assert stored.since == [NOW - timedelta(days=30), NOW - timedelta(hours=1)]


async def test_only_the_newest_are_kept_and_none_older_than_the_window():
    stored = FakeRequests([request("old", NOW - timedelta(days=31))])
    recent = RecentRequests(stored, Clock(), days=30, limit=3)
    for i in range(5):
        recent.add(request(f"r{i}", NOW - timedelta(minutes=10 - i)))
    kept = await recent.like(TEXT, NOW - timedelta(days=40), NOW)
    assert [r.id for r in kept] == ["r2", "r3", "r4"]


async def test_only_requests_about_the_same_problem_in_the_window_and_not_the_request_itself_are_like_it():
    stored = FakeRequests([
        request("month", NOW - timedelta(days=20)), request("other", NOW - timedelta(days=2), "Drucker im Hub Köln streikt"),
        request("later", NOW + timedelta(minutes=1)), request("itself", NOW),
    ])
    recent = RecentRequests(stored, Clock())
    found = await recent.like("Tourexport für Hamburg geht nicht", NOW - timedelta(days=30), NOW, exclude="itself")
    assert [r.id for r in found] == ["month"]
    found = await recent.like("Tourexport für Hamburg geht nicht", NOW - timedelta(days=10), NOW + timedelta(hours=1))
    assert [r.id for r in found] == ["itself", "later"]
