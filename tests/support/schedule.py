"""A fault schedule: timed faults for the Connector and Jira stand-ins, Table Storage and the bot processes.

    world = World(connector, jira, azurite, bots)
    schedule = FaultSchedule([
        ConnectorFault(at=5, seconds=20, method="POST", path=channel_path(ALERTS), status=503),  # a window
        ConnectorFault(at=8, times=3, path=ANY_THREAD, status=429, retry_after="2"),           # the next 3
        ConnectorFault(at=9, times=2, mode="lose"),                                             # 2 lost answers
        JiraFault(at=10, seconds=5, status=503), JiraLostAnswers(at=12),
        StopStorage(at=15, seconds=4), KillBot(at=20, bot=0, down=2), KillAfterAck(at=25, bot=1),
    ])
    task = schedule.start(world)   # applies each fault at its time after now; schedule.applied says what and when

`at` is seconds after the schedule starts. A fault with `seconds` is a window: every matching request in it
fails. A fault with `times` hits the next that-many matching requests after `at`, whenever they come.
Everything that happened (kills, restarts, storage down and up) is kept in `world.events`, with
time.monotonic() stamps, so a report can say why something was sent twice.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable

from .connector import Connector, Sent
from .jira import Jira
from .processes import Azurite, BotProcess, free_port

# Connector paths, for ConnectorFault.path (regexes over the whole, decoded path).
ANY_ACTIVITY = r"/v3/conversations/[^/]+/activities(/[^/]+)?"
ANY_THREAD = r"/v3/conversations/[^/]+;messageid=[^/]+/activities(/[^/]+)?"
ONE_TO_ONE = r"/v3/conversations/a:[^/]+/activities(/[^/]+)?"
CREATE_CHAT = r"/v3/conversations"


def channel_path(channel_id: str) -> str:
    """New threads in a channel: posts to the channel itself (not to one of its threads)."""
    return rf"/v3/conversations/{re.escape(channel_id)}/activities(/[^/]+)?"


def thread_path(channel_id: str) -> str:
    """Posts and card updates in any thread of a channel."""
    return rf"/v3/conversations/{re.escape(channel_id)};messageid=[^/]+/activities(/[^/]+)?"


@dataclass
class Event:
    """Something the schedule did to the world, stamped with time.monotonic()."""

    at: float
    kind: str  # kill, restart, restart_failed, storage_down, storage_up, fault
    detail: str
    bot: int | None = None


class World:
    """What faults act on: the stand-ins, the Azurite, the bot processes; and what happened to them.

    `ready[i]` is False from the moment bot i is killed until it serves /healthz again, so a driver
    can send traffic only to instances that are up (as a load balancer with health checks would).
    """

    def __init__(self, connector: Connector, jira: Jira | None = None, azurite: Azurite | None = None,
                 bots: Iterable[BotProcess] = ()) -> None:
        self.connector = connector
        self.jira = jira
        self.azurite = azurite
        self.bots: list[BotProcess] = list(bots)
        self.ready: list[bool] = [bot.alive() for bot in self.bots]
        self.events: list[Event] = []
        self.storage_up = True
        # Bots to crash on the next request's acknowledgement (KillAfterAck), and the threads armed for it.
        self.armed: list[tuple[int, float | None]] = []
        self._kill_on_ack: dict[str, tuple[int, float | None]] = {}
        self._tasks: set[asyncio.Task] = set()
        # Faults that could not be applied: a broken schedule must fail the run, not pass it quietly.
        self.errors: list[BaseException] = []
        connector.on_sent.append(self._on_sent)

    def note(self, kind: str, detail: str, bot: int | None = None) -> Event:
        """Record an event now."""
        event = Event(time.monotonic(), kind, detail, bot)
        self.events.append(event)
        return event

    def spawn(self, work: Awaitable[None]) -> asyncio.Task:
        """Run something in the background; drain() waits for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())

    async def drain(self) -> None:
        """Wait for restarts and storage outages still under way; raise the first fault that failed to apply."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        if self.errors:
            raise self.errors[0]

    # ------------------------------------------------------------------ bots

    def kill(self, bot: int, down: float | None = 2.0, new_port: bool = False, why: str = "") -> None:
        """SIGKILL bot `bot` now; start it again on the same tables after `down` seconds (never, if None)."""
        if not self.bots[bot].alive():
            return
        self.ready[bot] = False
        self.bots[bot].kill()
        self.note("kill", why or f"SIGKILL bot {bot}", bot)
        if down is not None:
            self.spawn(self._restart(bot, down, new_port))

    async def _restart(self, bot: int, down: float, new_port: bool, tries: int = 20) -> None:
        await asyncio.sleep(down)
        for _ in range(tries):
            port = free_port() if new_port else None
            try:
                await asyncio.to_thread(self.bots[bot].restart, port)
            except (RuntimeError, TimeoutError) as err:
                # Start-up stops when Table Storage is down (exit 3); a supervisor starts it again.
                self.note("restart_failed", " ".join(str(err).split())[:200], bot)
                if self.bots[bot].alive():
                    self.bots[bot].kill()
                await asyncio.sleep(1.0)
                continue
            self.ready[bot] = True
            self.note("restart", f"bot {bot} serves again on port {self.bots[bot].port}", bot)
            return

    def kill_after_ack(self, thread: str, bot: int, down: float | None) -> None:
        """Crash bot `bot` the moment the acknowledgement in `thread` reaches the Connector (before its answer)."""
        self._kill_on_ack[thread] = (bot, down)

    def _on_sent(self, sent: Sent) -> None:
        armed = self._kill_on_ack.get(sent.conversation_id)
        if armed and sent.method == "POST" and (sent.body.get("text") or "").startswith("Thanks"):
            del self._kill_on_ack[sent.conversation_id]
            bot, down = armed
            self.kill(bot, down, why=f"SIGKILL bot {bot} right after the acknowledgement in {sent.conversation_id}")

    # ------------------------------------------------------------------ storage

    async def stop_storage(self, seconds: float) -> None:
        """Stop Azurite (SIGINT, so it flushes), keep it down for `seconds`, start it on the same port and data."""
        if self.azurite is None or self.azurite.location is None:
            raise RuntimeError("stopping storage needs an Azurite on disk (Azurite(location=...))")
        self.storage_up = False
        self.note("storage_down", f"Azurite stopped with SIGINT for {seconds:g} s")
        await asyncio.to_thread(self.azurite.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(self.azurite.start)
        self.storage_up = True
        self.note("storage_up", "Azurite serves again on the same port and data")

    def storage_windows(self) -> list[tuple[float, float]]:
        """When Table Storage was down: (from, to) in time.monotonic(); `to` is now while it is still down."""
        windows, start = [], None
        for event in self.events:
            if event.kind == "storage_down":
                start = event.at
            elif event.kind == "storage_up" and start is not None:
                windows.append((start, event.at))
                start = None
        if start is not None:
            windows.append((start, time.monotonic()))
        return windows

    def kills(self) -> list[Event]:
        """Every SIGKILL, in order."""
        return [e for e in self.events if e.kind == "kill"]


@dataclass
class Fault:
    """A fault applied `at` seconds after the schedule starts."""

    at: float

    def describe(self) -> str:
        """The fault in a few words."""
        raise NotImplementedError

    async def apply(self, world: World) -> None:
        """Make it happen (may take a while: the schedule runs each fault in its own task)."""
        raise NotImplementedError


@dataclass
class ConnectorFault(Fault):
    """The Connector misbehaves for the next `times` matching requests, or for every one during `seconds`.

    mode: answer (`status`, with Retry-After when given), hang (for `hang` seconds, longer than the bot's
    15 s client timeout), reset (drop the connection), lose (post, then drop the connection).
    """

    seconds: float | None = None
    times: int | None = None
    method: str = ""
    path: str = ANY_ACTIVITY
    mode: str = "answer"
    status: int = 503
    retry_after: str | None = None
    hang: float = 16.0
    label: str = ""

    def _rule(self) -> dict:
        code = {429: "TooManyRequests", 412: "PreconditionFailed", 502: "BadGateway", 503: "ServiceUnavailable",
                504: "GatewayTimeout"}.get(self.status, "ServiceError")
        return {"method": self.method, "path": self.path, "mode": self.mode, "status": self.status,
                "body": {"error": {"code": code, "message": "injected by the fault schedule"}},
                "headers": {"Retry-After": self.retry_after} if self.retry_after is not None else {},
                "seconds": self.hang}

    def describe(self) -> str:
        what = {"answer": f"answer {self.status}" + (f" Retry-After: {self.retry_after}" if self.retry_after else ""),
                "hang": f"hang {self.hang:g} s (timeout)", "reset": "reset the connection",
                "lose": "take the message and lose the answer"}[self.mode]
        sends = f"{self.method}s" if self.method else "requests"
        when = f"for {self.seconds:g} s, all" if self.seconds is not None else f"the next {self.times or 1}"
        return f"Connector, {when} {sends} to {self.label or self.path} → {what}"

    async def apply(self, world: World) -> None:
        if self.seconds is not None:
            world.connector.fail_for(self.seconds, **self._rule())
        else:
            world.connector.fail(self.times or 1, **self._rule())


@dataclass
class JiraFault(Fault):
    """Jira answers `status` (with Retry-After when given) to the next `times` requests, or to all during `seconds`."""

    seconds: float | None = None
    times: int | None = None
    status: int = 503
    retry_after: str | None = None

    def describe(self) -> str:
        when = f"for {self.seconds:g} s" if self.seconds is not None else f"the next {self.times or 1}"
        return f"Jira {when}: answer {self.status}" + (f" Retry-After: {self.retry_after}" if self.retry_after else "")

    async def apply(self, world: World) -> None:
        assert world.jira is not None
        if self.seconds is not None:
            world.jira.fail_for(self.seconds, self.status, self.retry_after)
        else:
            world.jira.fail_next(self.times or 1, self.status, self.retry_after)


@dataclass
class JiraLostAnswers(Fault):
    """The next `times` creates store the ticket, then the answer is lost (the connection drops)."""

    times: int = 1

    def describe(self) -> str:
        return f"Jira: the next {self.times} create(s) file the ticket and lose the answer"

    async def apply(self, world: World) -> None:
        assert world.jira is not None
        world.jira.lose_next_creates(self.times)


@dataclass
class JiraSearchLag(Fault):
    """From now on, a new ticket is missing from Jira's search for `seconds`."""

    seconds: float = 2.0

    def describe(self) -> str:
        return f"Jira: search lags writes by {self.seconds:g} s"

    async def apply(self, world: World) -> None:
        assert world.jira is not None
        world.jira.search_lag_seconds = self.seconds


@dataclass
class StopStorage(Fault):
    """Azurite stopped (SIGINT) for `seconds`, then started again on the same port and data."""

    seconds: float = 4.0

    def describe(self) -> str:
        return f"Table Storage: Azurite stopped for {self.seconds:g} s, then restarted on the same port"

    async def apply(self, world: World) -> None:
        await world.stop_storage(self.seconds)


@dataclass
class KillBot(Fault):
    """SIGKILL a bot instance; start it again on the same tables after `down` seconds (None: leave it dead)."""

    bot: int = 0
    down: float | None = 2.0
    new_port: bool = False

    def describe(self) -> str:
        back = "stays down" if self.down is None else f"restarted after {self.down:g} s" + (" on a new port" if self.new_port else "")
        return f"SIGKILL bot {self.bot}; {back}"

    async def apply(self, world: World) -> None:
        world.kill(self.bot, self.down, self.new_port)


@dataclass
class KillAfterAck(Fault):
    """The next support request goes to bot `bot`, which is SIGKILLed as soon as its acknowledgement is out."""

    bot: int = 0
    down: float | None = 2.0

    def describe(self) -> str:
        back = "stays down" if self.down is None else f"restarted after {self.down:g} s"
        return f"SIGKILL bot {self.bot} right after the next request's acknowledgement; {back}"

    async def apply(self, world: World) -> None:
        world.armed.append((self.bot, self.down))


def random_kills(rng: random.Random, start: float, end: float, count: int, bots: int = 1,
                 down: tuple[float, float] = (1.0, 3.0)) -> list[KillBot]:
    """`count` SIGKILLs at random moments in [start, end), of random instances, each restarted after a random pause."""
    moments = sorted(rng.uniform(start, end) for _ in range(count))
    return [KillBot(at=round(t, 2), bot=rng.randrange(bots), down=round(rng.uniform(*down), 2)) for t in moments]


@dataclass
class FaultSchedule:
    """A list of timed faults, applied in time order by one background task."""

    faults: list[Fault]
    applied: list[tuple[float, str]] = field(default_factory=list)
    started_at: float = 0.0

    @property
    def length(self) -> float:
        """Seconds from the start until the last fault begins (windows and outages may last longer)."""
        return max((f.at for f in self.faults), default=0.0)

    def start(self, world: World, on_apply: Callable[[Fault], None] | None = None) -> asyncio.Task:
        """Apply every fault at its time from now on; the task ends once every fault has been applied."""
        self.started_at = time.monotonic()
        return asyncio.ensure_future(self._run(world, on_apply))

    async def _run(self, world: World, on_apply: Callable[[Fault], None] | None) -> None:
        for fault in sorted(self.faults, key=lambda f: f.at):
            delay = self.started_at + fault.at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.applied.append((round(time.monotonic() - self.started_at, 2), fault.describe()))
            world.note("fault", fault.describe())
            if on_apply is not None:
                on_apply(fault)
            # Outages and restarts take seconds; the next fault must not wait for them.
            world.spawn(fault.apply(world))
