"""Teams' send limits, kept by waiting before each send, with the most urgent send first.

Teams counts a bot's sends per thread: a channel thread (conversation id `<channel>;messageid=<root>`), a group
chat or a 1:1 chat each have their own budget (7 per second, 8 per 2 seconds, 60 per 30 seconds, 1,800 per hour),
and all sends of an app in a tenant share 50 per second (bench/README.md has the evidence). So a new request's
acknowledgement, in a thread of its own, never waits behind the pages and cards of other requests' threads; when
the app's budget is what they wait for, acknowledgements go first, then pages and escalations, then cards.

Teams counts a send when it arrives, which is some time after the pacer lets it go, and later still when the
send is retried after a 429 or a 503 inside its slot. So each send is counted at the moment its slot ends (the
latest it can have arrived), and a send still in flight counts as happening now: the gap the pacer keeps
between two sends is then at least the gap Teams sees, however long each took on the way.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import itertools
import math
import time
from collections import defaultdict, deque
from typing import AsyncIterator, Callable

# Per bot and thread, and per app and tenant (Teams platform docs, "Optimize your bot with rate limiting").
THREAD_LIMITS = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
APP_LIMITS = ((50, 1.0),)
# How often (in sends) the bookkeeping of quiet threads is dropped.
TIDY_EVERY = 500


def wait_needed(sent: deque[float], limits: tuple[tuple[int, float], ...], now: float) -> float:
    """Seconds until one more send fits every (count, window) limit, given the times of earlier sends."""
    longest = max(window for _, window in limits)
    while sent and now - sent[0] >= longest:
        sent.popleft()
    wait = 0.0
    for count, window in limits:
        if len(sent) >= count:
            # The count-th most recent send must have left the window.
            wait = max(wait, sent[-count] + window - now)
    return wait


def app_wait(done: list[float], in_flight: int, limits: tuple[tuple[int, float], ...], now: float) -> float:
    """Seconds until one more send fits every limit, given when finished sends ended (sorted) and how many are
    still in flight (they count as now); math.inf while in-flight sends alone fill a limit."""
    longest = max(window for _, window in limits)
    del done[:bisect.bisect_right(done, now - longest)]
    wait = 0.0
    for count, window in limits:
        recent = len(done) - bisect.bisect_right(done, now - window)
        if recent + in_flight >= count:
            wait = max(wait, math.inf if in_flight >= count else done[-(count - in_flight)] + window - now)
    return wait


class ConversationPacer:
    """Spaces sends per thread and per app under Teams' limits; one send at a time per thread keeps their order."""

    def __init__(self, thread_limits: tuple[tuple[int, float], ...] = THREAD_LIMITS,
                 app_limits: tuple[tuple[int, float], ...] = APP_LIMITS, clock: Callable[[], float] = time.monotonic) -> None:
        self._thread_limits = thread_limits
        self._app_limits = app_limits
        self._clock = clock
        # When each thread's sends ended; one send at a time per thread, so they stay in order.
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        # When the app's sends ended (sorted), and how many are on their way.
        self._app_sent: list[float] = []
        self._in_flight = 0
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Threads quiet for longer than every window but the longest, in short: by the hash of the thread's key (a
        # rush opens thousands of threads an hour; a key is some 100 characters), its sends and when the last ended
        # in one int (_pack). Two threads whose hashes collide share one count: too many sends, never too few.
        self._quiet: dict[int, int] = {}
        self._ready: list[tuple[int, int]] = []  # (priority, arrival) of sends whose thread allows them
        self._arrivals = itertools.count()
        self._changed = asyncio.Event()
        self._tidy = itertools.count(1)

    @staticmethod
    def key(where) -> str:
        """The thread an address names (its channel or chat, and the thread's root when it is one)."""
        return f"{where.place}|{where.thread}"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _admit(self, key: str, priority: int) -> None:
        # The thread's own budget first: only this send (under the thread's lock) can change it.
        while (delay := wait_needed(self._sent[key], self._thread_limits, self._clock())) > 0:
            await asyncio.sleep(delay)
        entry = (priority, next(self._arrivals))
        heapq.heappush(self._ready, entry)
        try:
            while True:
                delay = app_wait(self._app_sent, self._in_flight, self._app_limits, self._clock())
                if self._ready[0] == entry and delay <= 0:
                    heapq.heappop(self._ready)
                    self._in_flight += 1
                    return
                changed = self._changed
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=delay if 0 < delay < math.inf else None)
        except BaseException:
            if entry in self._ready:
                self._ready.remove(entry)
                heapq.heapify(self._ready)
            raise
        finally:
            self._notify()

    @contextlib.asynccontextmanager
    async def slot(self, where, priority: int = 2) -> AsyncIterator[None]:
        """Hold one send's place: after its thread's earlier sends, when the limits allow, urgent sends first."""
        key = self.key(where)
        if (packed := self._quiet.pop(hash(key), None)) is not None:
            # Its earlier sends all count as the last one: never fewer than Teams counts, and a thread that sends
            # again after a quiet spell has few of them.
            count, last = _unpack(packed)
            self._sent[key].extend([last] * count)
        async with self._locks[key]:
            await self._admit(key, int(priority))
            try:
                yield
            finally:
                # Counted when it ended, failed or not: Teams may have taken it (or an attempt of it) until then.
                ended = self._clock()
                self._in_flight -= 1
                self._sent[key].append(ended)
                bisect.insort(self._app_sent, ended)
                self._notify()
        if next(self._tidy) % TIDY_EVERY == 0:
            self.forget_idle()

    def forget_idle(self) -> None:
        """Keep only a count for threads quiet for longer than the shorter windows, and drop those quiet for longer
        than the longest (1,800 an hour): memory stays flat however many threads a rush opens."""
        now = self._clock()
        windows = sorted(window for _, window in self._thread_limits)
        longest, shorter = windows[-1], windows[-2] if len(windows) > 1 else windows[-1]
        for key in [k for k, sent in self._sent.items() if not sent or now - sent[-1] >= shorter]:
            if key in self._locks and self._locks[key].locked():
                continue
            sent = self._sent.pop(key)
            self._locks.pop(key, None)
            if sent and now - sent[-1] < longest:
                count, last = _unpack(self._quiet.get(hash(key), 0))
                self._quiet[hash(key)] = _pack(count + len(sent), max(last, sent[-1]))
        for key in [k for k, packed in self._quiet.items() if now - _unpack(packed)[1] >= longest]:
            del self._quiet[key]

    def quiet(self, where) -> tuple[int, float] | None:
        """What is kept of a quiet thread: its sends and when the last ended (for tests and diagnostics)."""
        packed = self._quiet.get(hash(self.key(where)))
        return None if packed is None else _unpack(packed)


def _pack(count: int, last: float) -> int:
    # The last send's end rounded up to the millisecond: it leaves the hour a little later, never earlier.
    return math.ceil(last * 1000) << 16 | min(count, 0xFFFF)


def _unpack(packed: int) -> tuple[int, float]:
    return packed & 0xFFFF, (packed >> 16) / 1000
