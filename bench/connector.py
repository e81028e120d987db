"""The bench's Bot Connector stand-in: answers the v3 REST shape and stamps each thread's first message."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler


@dataclass(frozen=True)
class Arrival:
    """When a message arrived: perf_counter for latency, monotonic for the proxy's time windows."""

    perf: float
    mono: float


@dataclass
class BenchConnector:
    """Records per conversation (thread) the first message's arrival and how many messages came."""

    first: dict[str, Arrival] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    created: int = 0
    last_request: float = 0.0
    _waiters: dict[str, asyncio.Future[Arrival]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp app: activities, updates, create-conversation, and 200 {} for anything else under /v3."""
        app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[self._stamp])
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._activity)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._activity)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_route("*", "/v3/{tail:.*}", self._anything)
        return app

    def expect(self, thread: str) -> asyncio.Future[Arrival]:
        """A future for the thread's first message; register it before sending the request."""
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        if thread in self.first:
            future.set_result(self.first[thread])
        else:
            self._waiters[thread] = future
        return future

    def forget(self, thread: str) -> None:
        """Drop a waiter that timed out."""
        self._waiters.pop(thread, None)

    @web.middleware
    async def _stamp(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Remember when the bot last called the connector at all (for settling between phases)."""
        self.last_request = time.monotonic()
        return await handler(request)

    def _arrived(self, thread: str) -> None:
        arrival = Arrival(time.perf_counter(), time.monotonic())
        self.counts[thread] += 1
        if thread in self.first:
            return
        self.first[thread] = arrival
        waiter = self._waiters.pop(thread, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrival)

    async def _activity(self, request: web.Request) -> web.Response:
        self._arrived(request.match_info["conversation"])
        await request.read()
        return web.json_response({"id": f"bench-msg-{next(self._ids)}"}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"id": request.match_info["activity"]}, status=200)

    async def _create(self, request: web.Request) -> web.Response:
        await request.read()
        self.created += 1
        return web.json_response({"id": f"a:bench-{self.created}"}, status=201)

    async def _anything(self, request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({}, status=200)
