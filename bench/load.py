"""The load side of the bench: one timed request, a sequential phase and a fixed-concurrency phase."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import aiohttp

from bench.connector import Arrival, BenchConnector
from bench.stats import summary_ms
from tests.support.activities import channel_mention

# Text that reads like a support request and matches no command, so the bot's first message is whatever
# it sends for a support request (today a short hint; later the acknowledgement).
REQUEST_TEXT = "The tour export for Hamburg fails with a 500 since 16:30, drivers are waiting (bench {n})"


@dataclass
class Target:
    """A bot under test, its connector stand-in and where it is reachable."""

    name: str
    url: str
    connector: BenchConnector
    connector_url: str
    pid: int
    alive: Callable[[], bool]
    text: str = REQUEST_TEXT
    sent: int = 0
    one_channel: bool = False

    def next_activity(self) -> dict:
        """A fresh channel @mention in a new thread, pointing at this target's connector.

        Each request goes to its own channel unless one_channel is set: Teams limits sends per conversation
        (8 per 2 s), which would measure Teams' limit rather than the bot; --one-channel shows that limit.
        """
        self.sent += 1
        channel = None if self.one_channel else f"19:bench{self.sent}@thread.tacv2"
        return channel_mention(self.text.replace("{n}", str(self.sent)), self.connector_url, channel=channel)


@dataclass
class Sample:
    """One request: when it was sent, when the POST returned, when the thread's first message arrived."""

    thread: str
    sent_perf: float
    sent_mono: float
    status: int | None = None
    returned_perf: float | None = None
    ack: Arrival | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Handled: the POST returned 2xx and the acknowledgement arrived."""
        return self.error is None and self.ack is not None and self.returned_perf is not None

    @property
    def ack_latency(self) -> float:
        """Seconds from sending the POST to the first message's arrival."""
        assert self.ack is not None
        return self.ack.perf - self.sent_perf

    @property
    def handled_latency(self) -> float:
        """Seconds from sending the POST until both the POST returned and the ack arrived."""
        assert self.ack is not None and self.returned_perf is not None
        return max(self.ack.perf, self.returned_perf) - self.sent_perf


async def one_request(session: aiohttp.ClientSession, target: Target, timeout: float, deadline: float) -> Sample:
    """POST one channel mention; wait for the POST and the thread's first message, up to `timeout` or `deadline`."""
    remaining = deadline - time.perf_counter()
    limit, cut = (timeout, "timeout") if timeout <= remaining else (remaining, "cut off by the time cap")
    activity = target.next_activity()
    thread = activity["conversation"]["id"]
    ack = target.connector.expect(thread)
    sample = Sample(thread, time.perf_counter(), time.monotonic())
    try:
        async with asyncio.timeout(max(limit, 0.001)):
            async with session.post(f"{target.url}/api/messages", json=activity) as response:
                await response.read()
                sample.status, sample.returned_perf = response.status, time.perf_counter()
            if not 200 <= response.status < 300:
                sample.error = f"HTTP {response.status}"
            else:
                sample.ack = await ack
    except TimeoutError:
        sample.error = cut
    except aiohttp.ClientError as err:
        sample.error = type(err).__name__
    if sample.ack is None:
        target.connector.forget(thread)
    return sample


async def sequential(
    session: aiohttp.ClientSession, target: Target, count: int, deadline: float, timeout: float, pause: float = 0.0
) -> list[Sample]:
    """Up to `count` requests one after another (`pause` seconds apart); none runs past `deadline` (perf_counter)."""
    samples: list[Sample] = []
    for i in range(count):
        if i and pause:
            await asyncio.sleep(max(0.0, min(pause, deadline - time.perf_counter())))
        if time.perf_counter() >= deadline:
            break
        samples.append(await one_request(session, target, timeout, deadline))
    return samples


@dataclass
class LevelRun:
    """The outcome of one concurrency level."""

    clients: int
    samples: list[Sample]
    wall: float
    capped: bool
    client_cpu: float
    bot_cpu: float | None

    def report(self, planned: int) -> dict:
        """The level's figures as a JSON-ready dict."""
        handled = [s for s in self.samples if s.ok]
        return {
            "clients": self.clients,
            "planned": planned,
            "sent": len(self.samples),
            "handled": len(handled),
            "errors": dict(Counter(s.error for s in self.samples if s.error)),
            "wall_s": round(self.wall, 3),
            "hit_time_cap": self.capped,
            "handled_per_s": round(len(handled) / self.wall, 2) if self.wall > 0 else None,
            "handled_latency_ms": summary_ms([s.handled_latency for s in handled]),
            "ack_latency_ms": summary_ms([s.ack_latency for s in handled]),
            "bench_process_cpu_share": round(self.client_cpu / self.wall, 3) if self.wall > 0 else None,
            "bot_process_cpu_share": round(self.bot_cpu / self.wall, 3) if self.bot_cpu is not None and self.wall > 0 else None,
        }


async def concurrent(
    session: aiohttp.ClientSession, target: Target, clients: int, count: int, deadline: float, timeout: float
) -> LevelRun:
    """`clients` closed-loop clients share `count` requests; none runs past `deadline` (perf_counter)."""
    tickets = iter(range(count))
    samples: list[Sample] = []
    start = time.perf_counter()
    cpu_before, bot_before = time.process_time(), process_cpu_seconds(target.pid)

    async def client() -> None:
        for _ in tickets:
            if deadline <= time.perf_counter():
                return
            samples.append(await one_request(session, target, timeout, deadline))

    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    bot_after = process_cpu_seconds(target.pid)
    bot_cpu = bot_after - bot_before if bot_after is not None and bot_before is not None else None
    return LevelRun(clients, samples, wall, len(samples) < count, time.process_time() - cpu_before, bot_cpu)


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds a process used so far (Linux /proc); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
