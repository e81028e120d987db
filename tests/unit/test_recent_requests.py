"""The recurring hint's memory of recent requests: read from storage once in a while, not for every card."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.requests import Person, RequestText, SupportRequest
from bot.services.recent import SKEW, RecentRequests
from bot.web.references import address

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)
TEXT = "Tourexport Hamburg geht schon wieder nicht"


def request(id_: str, at: datetime, text: str = "Tourexport Hamburg geht nicht") -> SupportRequest:
    return SupportRequest(id_, address("https://x/", f"19:c;messageid={id_}"), Person("olga", "Olga Ops"), text, at,
                          at + timedelta(minutes=5), True)


class FakeRequests:
    """Stored requests, each with when storage wrote it (its arrival unless told); counts the reads."""

    def __init__(self, stored: list[SupportRequest]) -> None:
        self.stored = stored
        self.written: dict[str, datetime] = {}
        self.reads = 0
        self.since: list[datetime | None] = []
        self.handed: list[str] = []

    async def texts(self, first: datetime, last: datetime, written_since: datetime | None = None):
        self.reads += 1
        self.since.append(written_since)
        for r in sorted(self.stored, key=lambda r: r.id):  # storage's order is its keys', not time
            written = self.written.get(r.id, r.received_at)
            if first <= r.received_at < last and (written_since is None or written >= written_since):
                self.handed.append(r.id)
                yield RequestText(r.id, r.text, r.received_at)


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
    # The month was read once; a refresh reads only the rows written since the last read (less the clock margin).
    assert stored.since == [None, NOW - SKEW]


async def test_a_refresh_finds_requests_stored_late_and_does_not_read_the_rush_again():
    rush = [request(f"r{i}", NOW - timedelta(minutes=50) + timedelta(seconds=i)) for i in range(200)]
    stored = FakeRequests(list(rush))
    clock = Clock()
    recent = RecentRequests(stored, clock, refresh=timedelta(minutes=5))
    await recent.like(TEXT, NOW - timedelta(days=30), NOW)
    assert len(stored.handed) == 200
    # Another instance stores a request that arrived 40 minutes ago only now (storage was down meanwhile).
    late = request("late", NOW - timedelta(minutes=40))
    stored.stored.append(late)
    stored.written["late"] = NOW + timedelta(minutes=3)
    clock.now = NOW + timedelta(minutes=6)
    found = await recent.like(TEXT, NOW - timedelta(days=30), clock.now)
    assert "late" in {r.id for r in found}
    assert stored.handed[200:] == ["late"]  # the rush already known was not read again


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
