"""A Bot Connector stand-in on loopback: it speaks the v3 REST shape and records what the bot sends."""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import itertools
import math
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

# Teams' limits on a bot's sends, per thread and per app and tenant (bench/README.md, "Teams rate limits: per
# thread"). Written out here on their own, not taken from bot/web/pacing.py, so that the stand-in checks the pacer
# instead of agreeing with it.
TEAMS_THREAD_LIMITS = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
TEAMS_APP_LIMITS = ((50, 1.0),)
THREAD = ";messageid="


def is_channel(conversation_id: str) -> bool:
    """A team channel's id (19:…@thread.tacv2, or @thread.skype in older teams), not a group chat's (@thread.v2)."""
    base = conversation_id.partition(THREAD)[0]
    return base.endswith(("@thread.tacv2", "@thread.skype"))


@dataclass
class Throttled:
    """One request the enforcing stand-in answered 429 (or, for `channel_overruns`, would have if Teams counted a
    whole channel as one thread)."""

    at: float
    method: str
    path: str
    key: str  # the thread, or "app"
    limit: tuple[int, float]  # (count, window in seconds) that was full
    retry_after: int


class Windows:
    """Arrival times of accepted sends, for sliding-window limits: (count, window) allows at most `count` sends
    in any `window` seconds."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def full(self, limits: tuple[tuple[int, float], ...], now: float) -> tuple[float, tuple[int, float]] | None:
        """(seconds until one more send fits, the limit that is full), or None when one more fits now."""
        longest = max(window for _, window in limits)
        drop = bisect.bisect_right(self.times, now - longest)
        if drop:
            del self.times[:drop]
        worst = None
        for count, window in limits:
            inside = len(self.times) - bisect.bisect_right(self.times, now - window)
            if inside >= count:
                # The count-th most recent send in the window has to leave it first.
                wait = self.times[-count] + window - now
                if worst is None or wait > worst[0]:
                    worst = (wait, (count, window))
        return worst

    def add(self, now: float) -> None:
        """Count an accepted send."""
        self.times.append(now)


# Paths of the Connector's routes, for Failure.path.
CREATE_PATH = r"/v3/conversations"
ACTIVITIES_PATH = r"/v3/conversations/[^/]+/activities(/[^/]+)?"


@dataclass
class Connector:
    """Records sends and updates; can answer 429 a given number of times first, or fail on demand (`fail`).

    With `enforce_limits` it also keeps Teams' rate limits, as the real Connector does: it counts the sends and
    updates of each thread (a channel thread is `<channel>;messageid=<root>`, a 1:1 or group chat is its own
    thread) and all requests of the app, and answers 429 with a Retry-After and Teams' error body when one more
    would go over a limit. Each such answer is recorded in `throttled`.
    """

    sent: list[Sent] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)
    throttle: int = 0
    retry_after: str = "0"
    failures: list[Failure] = field(default_factory=list)
    # Every request that arrived, failed ones included: (method, path).
    attempts: list[tuple[str, str]] = field(default_factory=list)
    # The client end (host, port) of the TCP connection each request arrived on, in order.
    peers: list[tuple[str, int]] = field(default_factory=list)
    # Every request a Failure hit, in order.
    faulted: list[Faulted] = field(default_factory=list)
    # Every request that arrived as (monotonic time, method, path, digest of the body), to count tries per message.
    arrivals: list[tuple[float, str, str, str]] = field(default_factory=list)
    # Called with each recorded send as it arrives (before the bot gets its answer), e.g. to crash a bot there.
    on_sent: list[Callable[[Sent], None]] = field(default_factory=list)
    # Keep Teams' rate limits (opt-in): per thread and app-wide, answered with 429 when exceeded.
    enforce_limits: bool = False
    thread_limits: tuple[tuple[int, float], ...] = TEAMS_THREAD_LIMITS
    app_limits: tuple[tuple[int, float], ...] = TEAMS_APP_LIMITS
    # Every 429 the limits caused, in order.
    throttled: list[Throttled] = field(default_factory=list)
    # What a stricter reading would have refused: the thread limits applied to a whole channel (every thread in it
    # and new posts together). Recorded only; nothing is refused for it.
    channel_overruns: list[Throttled] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _thread_windows: dict[str, Windows] = field(default_factory=dict)
    _channel_windows: dict[str, Windows] = field(default_factory=dict)
    _app_window: Windows = field(default_factory=Windows)
    # The thread each message was posted in, by its id, so an update addressed by the bare channel finds its thread.
    _posted_in: dict[str, str] = field(default_factory=dict)
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
        if request.transport is not None:
            self.peers.append(request.transport.get_extra_info("peername")[:2])
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

    def thread_of(self, conversation: str, activity_id: str | None) -> str:
        """The thread a send or update counts against.

        A channel thread's id carries `;messageid=<root>`; a reply addressed to the bare channel with the root's id
        in the path (`/activities/{root}`) is in that root's thread; an update goes to the thread its message was
        posted in. A new post to the bare channel starts a thread: it counts against the channel itself, as the
        bot's pacer counts it. A 1:1 or group chat is one thread.
        """
        if THREAD in conversation or not is_channel(conversation):
            return conversation
        if activity_id:
            # A reply to the root, or an update of a message: the thread the stand-in saw it posted in.
            return self._posted_in.get(activity_id, f"{conversation}{THREAD}{activity_id}")
        return conversation

    def _over_limit(self, request: web.Request, thread: str | None) -> web.Response | None:
        """When enforcing: a 429 if one more request would go over the thread's or the app's limits; else count it."""
        if not self.enforce_limits:
            return None
        now = time.monotonic()
        full = []
        if thread is not None:
            windows = self._thread_windows.setdefault(thread, Windows())
            if (over := windows.full(self.thread_limits, now)) is not None:
                full.append((over, thread))
        if (over := self._app_window.full(self.app_limits, now)) is not None:
            full.append((over, "app"))
        if full:
            (wait, limit), key = max(full, key=lambda item: item[0][0])
            retry_after = max(1, math.ceil(wait))
            self.throttled.append(Throttled(now, request.method, request.path, key, limit, retry_after))
            count, window = limit
            return web.json_response(
                {"error": {"code": "TooManyRequests",
                           "message": f"Too many requests: more than {count} in {window:g} s for this "
                                      f"{'app' if key == 'app' else 'conversation'}"}},
                status=429, headers={"Retry-After": str(retry_after)},
            )
        self._app_window.add(now)
        if thread is not None:
            self._thread_windows[thread].add(now)
            channel = thread.partition(THREAD)[0]
            if is_channel(channel):
                shadow = self._channel_windows.setdefault(channel, Windows())
                if (over := shadow.full(self.thread_limits, now)) is not None:
                    self.channel_overruns.append(Throttled(now, request.method, request.path, channel, over[1],
                                                           max(1, math.ceil(over[0]))))
                shadow.add(now)
        return None

    async def _record(self, request: web.Request, method: str) -> web.Response:
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response(
                {"error": {"code": "TooManyRequests", "message": "throttled"}}, status=429,
                headers={"Retry-After": self.retry_after},
            )
        activity_id = request.match_info.get("activity")
        thread = self.thread_of(request.match_info["conversation"], activity_id)
        if (refused := self._over_limit(request, thread)) is not None:
            return refused
        body = await request.json()
        new_id = activity_id if method == "PUT" else f"bot-{next(self._ids)}"
        if method == "POST":
            conversation = request.match_info["conversation"]
            started = is_channel(conversation) and THREAD not in conversation and not activity_id
            self._posted_in[new_id] = f"{conversation}{THREAD}{new_id}" if started else thread
        sent = Sent(method, request.match_info["conversation"], activity_id, body, request.headers.get("Authorization"),
                    new_id, answer_lost=request.get(ANSWER_LOST, False))
        self.sent.append(sent)
        self._arrived.set()
        for hook in list(self.on_sent):
            hook(sent)
        return web.json_response({"id": new_id}, status=200 if method == "PUT" else 201)

    async def _create(self, request: web.Request) -> web.Response:
        """Create a 1:1 conversation, as the bot does before writing to someone personally."""
        if (refused := self._over_limit(request, None)) is not None:
            return refused
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

    def connections(self) -> int:
        """How many TCP connections the bot's requests arrived on."""
        return len(set(self.peers))

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
