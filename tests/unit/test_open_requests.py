"""A channel's open requests: a burst of arrivals reads the channel's index once, and a resolved request drops out."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.domain.incidents import OpenRequest
from bot.services.incidents import SHARED_READ_SECONDS, OpenRequests

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)


class FakeIndex:
    """A channel index that answers after a moment and counts its reads."""

    def __init__(self, rows: list[OpenRequest]) -> None:
        self.rows = rows
        self.reads = 0

    async def open_in(self, place: str) -> list[OpenRequest]:
        self.reads += 1
        await asyncio.sleep(0.01)
        return list(self.rows)

    async def unindex(self, place: str, request_id: str) -> None:
        self.rows = [r for r in self.rows if r.id != request_id]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def test_thirty_arrivals_at_once_read_the_index_once():
    index = FakeIndex([OpenRequest("a", "Tourexport Hamburg geht nicht", NOW - timedelta(minutes=3))])
    open_requests = OpenRequests(index, Clock())
    found = await asyncio.gather(*(open_requests.in_channel("19:c") for _ in range(30)))
    assert index.reads == 1 and all([r.id for r in f] == ["a"] for f in found)


async def test_a_later_arrival_reads_again_and_a_resolved_request_is_gone_at_once():
    index = FakeIndex([OpenRequest("a", "Tourexport Hamburg geht nicht", NOW - timedelta(minutes=3))])
    clock = Clock()
    open_requests = OpenRequests(index, clock)
    await open_requests.in_channel("19:c")
    clock.now = NOW + timedelta(seconds=SHARED_READ_SECONDS)
    await open_requests.in_channel("19:c")
    assert index.reads == 2
    await open_requests.remove("19:c", "a")
    assert await open_requests.in_channel("19:c") == [] and index.reads == 3
