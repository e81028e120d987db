"""The requests of the last weeks, for the triage card's "recurring" hint, kept in memory.

Reading every request of the last 30 days for each new card scans the Requests table (one partition, all history)
and costs more with every request: in a rush, the cards of the requests that matter now paid for the month behind
them. So the texts are read from storage once, and every REFRESH only the rows written since the last read (so
requests other instances recorded show up then); this instance's own requests are added as they are recorded, and
only the newest LIMIT are kept. Their words are indexed as they come (RequestCorpus), so a card compares its text
only with the requests that share a word with it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Callable

from ..domain.matching import RequestCorpus
from ..domain.requests import RequestText, SupportRequest
from .ports import RequestRepository

# Enough for a month of a busy team; a card compares its text with each of them.
LIMIT = 1000
REFRESH = timedelta(minutes=5)
# After the first read, each refresh reads only the rows storage wrote since the last read, less this margin for
# the difference between this instance's clock and storage's: those another instance recorded since, late ones
# (stored after storage came back) included. Reading the last hour instead read every request of a rush again at
# each refresh, and the bot's memory grew with the rush (bench/rush.py's soak).
SKEW = timedelta(minutes=2)


class RecentRequests:
    """The newest requests of the last `days` days: read now and then, and added to as this instance records them."""

    def __init__(self, requests: RequestRepository, clock: Callable[[], datetime], days: int = 30,
                 limit: int = LIMIT, refresh: timedelta = REFRESH) -> None:
        self._requests = requests
        self._clock = clock
        self._days = timedelta(days=days)
        self._limit = limit
        self._refresh = refresh
        self._items: dict[str, RequestText] = {}
        self._corpus = RequestCorpus()
        self._read_at: datetime | None = None
        self._reading = asyncio.Lock()

    def add(self, request: SupportRequest) -> None:
        """A request this instance just recorded."""
        self._keep([RequestText(request.id, request.text, request.received_at)])

    async def like(self, text: str, first: datetime, last: datetime, exclude: str = "") -> list[RequestText]:
        """The kept requests from `first` until before `last` (but `exclude`) about the same problem as `text`,
        oldest first; StorageUnavailable when storage does not answer."""
        await self._read_if_stale()
        outside = [r.id for r in self._items.values() if not first <= r.received_at < last or r.id == exclude]
        found = [self._items[request_id] for request_id in self._corpus.like(text, exclude=outside)]
        return sorted(found, key=lambda r: r.received_at)

    async def _read_if_stale(self) -> None:
        async with self._reading:  # a burst of cards reads once
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self._refresh:
                return
            since = None if self._read_at is None else self._read_at - SKEW
            new = [r async for r in self._requests.texts(now - self._days, now + timedelta(days=1), since)
                   if r.id not in self._items]
            self._keep(new)
            self._read_at = now

    def _keep(self, new: list[RequestText]) -> None:
        horizon = self._clock() - self._days
        # Only the newest of what came in can be kept: a month read at start-up is not indexed to be dropped again.
        new = sorted((r for r in new if r.received_at >= horizon), key=lambda r: r.received_at)[-self._limit:]
        for recent in new:
            self._items[recent.id] = recent
            self._corpus.add(recent.id, recent.text)
        kept = sorted((r for r in self._items.values() if r.received_at >= horizon), key=lambda r: r.received_at)
        if len(kept) != len(self._items) or len(kept) > self._limit:
            for gone in kept[:-self._limit] + [r for r in self._items.values() if r.received_at < horizon]:
                self._corpus.remove(gone.id)
            self._items = {r.id: r for r in kept[-self._limit:]}
