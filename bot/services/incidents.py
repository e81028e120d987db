"""Which requests are open in a channel right now: the channel's index in storage, plus this instance's own
requests that the index may not show yet (their paging job writes them a moment after the acknowledgement)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Callable

from ..domain.errors import StorageUnavailable
from ..domain.incidents import WINDOW, OpenRequest
from .ports import RequestRepository

# Bounds this instance's memory of recent requests per channel (a rush is dozens, not thousands).
MAX_RECENT = 200
# Reads of a channel's index that start within this many seconds of each other share one: a burst of requests
# (each one reads it before its acknowledgement) costs one query, not one each.
SHARED_READ_SECONDS = 1.0


class OpenRequests:
    """The open requests of each channel, for grouping incidents and for the escalation digest."""

    def __init__(self, requests: RequestRepository, clock: Callable[[], datetime]) -> None:
        self._requests = requests
        self._clock = clock
        self._recent: dict[str, dict[str, OpenRequest]] = {}
        self._reads: dict[str, tuple[datetime, asyncio.Future[list[OpenRequest]]]] = {}

    def remember(self, place: str, request: OpenRequest) -> None:
        """A request this instance just acknowledged, before its index row is written."""
        recent = self._recent.setdefault(place, {})
        recent[request.id] = request
        horizon = self._clock() - WINDOW
        for old in [k for k, r in recent.items() if r.received_at < horizon][: len(recent)]:
            del recent[old]
        while len(recent) > MAX_RECENT:
            del recent[next(iter(recent))]

    async def add(self, place: str, request: OpenRequest) -> None:
        """Write the request into its channel's index."""
        await self._requests.index_open(place, request)
        self.remember(place, request)

    async def remove(self, place: str, request_id: str) -> None:
        """A request was resolved (or left its channel's incidents)."""
        self._recent.get(place, {}).pop(request_id, None)
        await self._requests.unindex(place, request_id)
        self._reads.pop(place, None)  # a read started before may still list it

    async def in_channel(self, place: str) -> list[OpenRequest]:
        """The open requests of a channel, oldest first; this instance's own when storage does not answer."""
        mine = dict(self._recent.get(place, {}))
        try:
            stored = {r.id: r for r in await self._stored(place)}
        except StorageUnavailable:
            stored = {}
        merged = {**mine, **stored}
        return sorted(merged.values(), key=lambda r: r.received_at)

    async def _stored(self, place: str) -> list[OpenRequest]:
        """The channel's index, from a read started at most SHARED_READ_SECONDS ago or a new one."""
        now = self._clock()
        shared = self._reads.get(place)
        if shared is None or (now - shared[0]).total_seconds() >= SHARED_READ_SECONDS:
            shared = self._reads[place] = (now, asyncio.ensure_future(self._requests.open_in(place)))
        return list(await asyncio.shield(shared[1]))
