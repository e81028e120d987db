"""Table round trips per request, from the counting proxy's log: time windows, background polling, settling."""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Awaitable, Callable

from bench.load import Sample
from bench.stats import summary_counts

Record = tuple[float, str, str]
Fetch = Callable[[int], Awaitable[tuple[int, list[Record]]]]


def call_name(method: str, path: str, prefix: str) -> str:
    """A readable name for a Table Storage call: method and logical table; `(keys)` when it names one entity."""
    resource = path.rstrip("/").rsplit("/", 1)[-1]
    table = re.split(r"[(]", resource, maxsplit=1)[0]
    if prefix and table.startswith(prefix):
        table = table[len(prefix):]
    return f"{method} {table or path}" + ("(keys)" if "(" in resource and not resource.endswith("()") else "")


@dataclass(frozen=True)
class Idle:
    """What the proxy saw while nobody sent the bots anything: the bots' own background calls."""

    seconds: float
    calls: Counter[str]

    def report(self) -> dict:
        """As a JSON-ready dict."""
        total = sum(self.calls.values())
        return {"seconds": round(self.seconds, 2), "calls": dict(self.calls), "per_s": round(total / self.seconds, 2)}

    def quiet_needed(self, minimum: float) -> float:
        """How long a bot must look quiet to count as settled: longer than 1.5 of its slowest poll's period."""
        periods = [self.seconds / n for n in self.calls.values() if n]
        return max([minimum, *(1.5 * p for p in periods)])


async def observe_idle(fetch: Fetch, seconds: float, prefix: str) -> Idle:
    """Watch the proxy for `seconds` with no requests in flight."""
    mark, _ = await fetch(0)
    start = time.monotonic()
    await asyncio.sleep(seconds)
    _, records = await fetch(mark)
    return Idle(time.monotonic() - start, Counter(call_name(m, p, prefix) for _, m, p in records))


async def settle(fetch: Fetch, idle: Idle, prefix: str, quiet: float, cap: float, other: Callable[[], float]) -> dict:
    """Wait (at most `cap` s) until for `quiet` s only idle kinds hit the proxy and `other()` (last connector call) stayed old."""
    start = time.monotonic()
    mark, _ = await fetch(0)
    last_busy = start
    while True:
        mark_now, records = await fetch(mark)
        busy = [t for t, m, p in records if call_name(m, p, prefix) not in idle.calls]
        last_busy, mark = max([last_busy, other(), *busy]), mark_now
        now = time.monotonic()
        if now - last_busy >= quiet or now - start >= cap:
            return {"waited_s": round(now - start, 2), "quiet": now - last_busy >= quiet}
        await asyncio.sleep(min(0.1, quiet, max(cap - (now - start), 0.01)))


@dataclass(frozen=True)
class Windows:
    """The Table calls (by name) inside each handled request's windows, and how long the windows were."""

    before_ack: list[list[str]]
    before_ack_seconds: float
    until_next: list[list[str]]
    until_next_seconds: float


def attribute(samples: list[Sample], records: list[Record], phase_end: float, prefix: str) -> Windows:
    """Calls inside (POST sent, ack arrived) and inside (POST sent, next POST sent) for each handled request."""
    records = sorted(records)
    times = [r[0] for r in records]
    before, until, before_s, until_s = [], [], 0.0, 0.0
    for i, sample in enumerate(samples):
        if sample.ack is None:
            continue
        lo = bisect.bisect_right(times, sample.sent_mono)
        end = samples[i + 1].sent_mono if i + 1 < len(samples) else phase_end
        names = [call_name(m, p, prefix) for _, m, p in records[lo:bisect.bisect_left(times, end)]]
        before.append(names[: bisect.bisect_left(times, sample.ack.mono) - lo])
        until.append(names)
        before_s += sample.ack.mono - sample.sent_mono
        until_s += end - sample.sent_mono
    return Windows(before, before_s, until, until_s)


def background_kinds(windows: list[list[str]], seconds: float, idle: Idle) -> set[str]:
    """Idle kinds seen at most 2x (+2) as often as the idle rate predicts for the windows' length: polling, not requests."""
    seen = Counter(name for window in windows for name in window)
    expected = {name: n / idle.seconds * seconds for name, n in idle.calls.items()}
    return {name for name, n in seen.items() if name in expected and n <= 2 * expected[name] + 2}


def _counts(windows: list[list[str]], seconds: float, idle: Idle) -> dict:
    background = background_kinds(windows, seconds, idle)
    return {
        "all": summary_counts([len(w) for w in windows]),
        "excluding_background": summary_counts([sum(name not in background for name in w) for w in windows]),
        "background_kinds": sorted(background),
        "window_seconds_total": round(seconds, 3),
        "calls": dict(Counter(name for w in windows for name in w).most_common()),
    }


def trips_report(windows: Windows, idle: Idle) -> dict:
    """Round trips per request before the ack and until the next request, with and without background polling."""
    return {
        "before_ack": _counts(windows.before_ack, windows.before_ack_seconds, idle),
        "until_next_request": _counts(windows.until_next, windows.until_next_seconds, idle),
    }
