"""Which requests are open in a channel right now: the channel's index in storage, plus this instance's own
requests that the index may not show yet (their paging job writes them a moment after the acknowledgement)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from ..domain.errors import StorageUnavailable
from ..domain.incidents import WINDOW, OpenRequest
from .ports import RequestRepository

# Bounds this instance's memory of recent requests per channel (a rush is dozens, not thousands).
MAX_RECENT = 200


class OpenRequests:
    """The open requests of each channel, for grouping incidents and for the escalation digest."""

    def __init__(self, requests: RequestRepository, clock: Callable[[], datetime]) -> None:
        self._requests = requests
        self._clock = clock
        self._recent: dict[str, dict[str, OpenRequest]] = {}

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

    async def in_channel(self, place: str) -> list[OpenRequest]:
        """The open requests of a channel, oldest first; this instance's own when storage does not answer."""
        mine = dict(self._recent.get(place, {}))
        try:
            stored = {r.id: r for r in await self._requests.open_in(place)}
        except StorageUnavailable:
            stored = {}
        merged = {**mine, **stored}
        return sorted(merged.values(), key=lambda r: r.received_at)
