"""A Bot Connector stand-in on loopback: it speaks the v3 REST shape and records what the bot sends."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web


@dataclass
class Sent:
    """One request the bot made to the connector."""

    method: str
    conversation_id: str
    activity_id: str | None
    body: dict
    authorization: str | None
    new_id: str = ""
    at: float = field(default_factory=time.monotonic)
    # True when the message was taken but its answer never reached the bot (a `lose` failure).
    answer_lost: bool = False


MODES = ("answer", "hang", "reset", "lose")


@dataclass
class Failure:
    """For the next `times` requests matching method and path, misbehave in one of four ways.

    - answer: answer `status` with `body` and `headers`, as the Connector's error answers look;
    - hang: answer nothing for `seconds`, then drop the connection (longer than the bot's client timeout);
    - reset: drop the connection without answering;
    - lose: post the message as usual, then drop the connection, so the bot never learns that it worked.
    """

    times: int
    method: str = ""
    path: str = ".*"
    mode: str = "answer"
    status: int = 500
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # A time window (time.monotonic()): the rule applies only from `after` until `until`, when given.
    after: float | None = None
    until: float | None = None
    # How many requests it has hit so far.
    hits: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")

    def matches(self, request: web.Request) -> bool:
        """True when this rule still applies and covers the request (`path` is a regex over the whole path)."""
        now = time.monotonic()
        return (self.times > 0 and (self.after is None or now >= self.after) and (self.until is None or now < self.until)
                and self.method in ("", request.method) and re.fullmatch(self.path, request.path) is not None)

    def describe(self) -> str:
        """The rule in a few words, for reports."""
        what = {"answer": f"answer {self.status}", "hang": f"hang {self.seconds:g} s", "reset": "reset",
                "lose": "lose the answer"}[self.mode]
        retry_after = self.headers.get("Retry-After")
        return f"{self.method or 'any'} {self.path}: {what}" + (f" (Retry-After: {retry_after})" if retry_after else "")


@dataclass
class Faulted:
    """One request a Failure hit: when, which, and how it misbehaved."""

    at: float
    method: str
    path: str
    mode: str
    status: int | None
    rule: str


# Set on a request whose answer a `lose` failure will drop, so the send it records is marked.
ANSWER_LOST = web.RequestKey("answer_lost", bool)

# Paths of the Connector's routes, for Failure.path.
CREATE_PATH = r"/v3/conversations"
ACTIVITIES_PATH = r"/v3/conversations/[^/]+/activities(/[^/]+)?"


@dataclass
class Connector:
    """Records sends and updates; can answer 429 a given number of times first, or fail on demand (`fail`)."""

    sent: list[Sent] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)
    throttle: int = 0
    retry_after: str = "0"
    failures: list[Failure] = field(default_factory=list)
    # Every request that arrived, failed ones included: (method, path).
    attempts: list[tuple[str, str]] = field(default_factory=list)
    # Every request a Failure hit, in order.
    faulted: list[Faulted] = field(default_factory=list)
    # Every request that arrived as (monotonic time, method, path, digest of the body), to count tries per message.
    arrivals: list[tuple[float, str, str, str]] = field(default_factory=list)
    # Called with each recorded send as it arrives (before the bot gets its answer), e.g. to crash a bot there.
    on_sent: list[Callable[[Sent], None]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def fail(self, times: int = 1, **rule) -> Failure:
        """Misbehave for the next `times` matching requests; see Failure for the arguments."""
        failure = Failure(times, **rule)
        self.failures.append(failure)
        return failure

    def fail_for(self, duration: float, **rule) -> Failure:
        """Misbehave for every matching request during the next `duration` seconds; see Failure for the arguments."""
        now = time.monotonic()
        return self.fail(times=10**9, after=now, until=now + duration, **rule)

    @web.middleware
    async def _misbehave(self, request: web.Request, handler) -> web.StreamResponse:
        self.attempts.append((request.method, request.path))
        body = await request.read()
        self.arrivals.append((time.monotonic(), request.method, request.path, hashlib.sha1(body).hexdigest()[:12]))
        failure = next((f for f in self.failures if f.matches(request)), None)
        if failure is None:
            return await handler(request)
        failure.times -= 1
        failure.hits += 1
        self.faulted.append(Faulted(time.monotonic(), request.method, request.path, failure.mode,
                                    failure.status if failure.mode == "answer" else None, failure.describe()))
        if failure.mode == "answer":
            body = failure.body if failure.body is not None else {"error": {"code": "ServiceError", "message": "failed"}}
            return web.json_response(body, status=failure.status, headers=failure.headers)
        if failure.mode == "hang":
            await asyncio.sleep(failure.seconds)
        elif failure.mode == "lose":
            request[ANSWER_LOST] = True
            await handler(request)
        if request.transport is not None:  # None when the bot gave up first (a hang longer than its timeout)
            request.transport.close()
        # The bot reads the closed connection before this handler returns; nothing more is written.
        await asyncio.sleep(0.5)
        return web.Response(status=204)

    def app(self) -> web.Application:
        """The aiohttp app that serves the connector routes."""
        app = web.Application(middlewares=[self._misbehave])
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._put)
        return app

    async def _record(self, request: web.Request, method: str) -> web.Response:
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response(
                {"error": {"code": "TooManyRequests", "message": "throttled"}}, status=429,
                headers={"Retry-After": self.retry_after},
            )
        body = await request.json()
        activity_id = request.match_info.get("activity")
        new_id = activity_id if method == "PUT" else f"bot-{next(self._ids)}"
        sent = Sent(method, request.match_info["conversation"], activity_id, body, request.headers.get("Authorization"),
                    new_id, answer_lost=request.get(ANSWER_LOST, False))
        self.sent.append(sent)
        self._arrived.set()
        for hook in list(self.on_sent):
            hook(sent)
        return web.json_response({"id": new_id}, status=200 if method == "PUT" else 201)

    async def _create(self, request: web.Request) -> web.Response:
        """Create a 1:1 conversation, as the bot does before writing to someone personally."""
        body = await request.json()
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1 or not members[0].get("id"):
            return web.json_response({"error": {"code": "BadArgument", "message": "one member needed"}}, status=400)
        conversation_id = f"a:1to1-{members[0]['id']}"
        self.created.append(body)
        return web.json_response({"id": conversation_id, "activityId": None, "serviceUrl": self.url}, status=201)

    async def _post(self, request: web.Request) -> web.Response:
        return await self._record(request, "POST")

    async def _put(self, request: web.Request) -> web.Response:
        return await self._record(request, "PUT")

    def messages(self) -> list[dict]:
        """Every activity body the bot posted, in order."""
        return [s.body for s in self.sent if s.method == "POST"]

    def texts(self, conversation_prefix: str = "") -> list[str]:
        """The text of every message posted, optionally only to conversations starting with a prefix."""
        return [s.body.get("text") or "" for s in self.sent
                if s.method == "POST" and s.conversation_id.startswith(conversation_prefix)]

    def cards(self) -> list[dict]:
        """Every Adaptive Card the bot posted."""
        return [
            a["content"]
            for body in self.messages()
            for a in body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until at least `count` requests arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"expected {count} sends, got {len(self.sent)}: {[s.body for s in self.sent]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.sent

    async def wait_until(self, predicate, timeout: float = 10.0, what: str = "condition") -> None:
        """Wait until predicate(self) holds, checking as sends arrive."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; texts so far: {self.texts()}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.2))
            except asyncio.TimeoutError:
                pass
