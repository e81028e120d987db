"""Teams' per-conversation send limits, kept by waiting before each send."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from typing import AsyncIterator

# Per bot and conversation: 7 per second, 8 per 2 seconds, 60 per 30 seconds.
LIMITS = ((7, 1.0), (8, 2.0), (60, 30.0))


class ConversationPacer:
    """Serialises sends per conversation and spaces them under Teams' rate limits."""

    def __init__(self, limits: tuple[tuple[int, float], ...] = LIMITS, clock=time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def wait_needed(self, conversation_id: str) -> float:
        """Seconds to wait before the next send to this conversation."""
        now = self._clock()
        sent = self._sent[conversation_id]
        longest = max(window for _, window in self._limits)
        while sent and now - sent[0] > longest:
            sent.popleft()
        wait = 0.0
        for count, window in self._limits:
            recent = [t for t in sent if now - t < window]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + window - now)
        return wait

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock that keeps one send at a time per conversation (so replies keep their order)."""
        return self._locks[conversation_id.split(";messageid=")[0]]

    async def turn(self, conversation_id: str) -> None:
        """Wait until a send is allowed, then count it; call while holding lock()."""
        key = conversation_id.split(";messageid=")[0]
        delay = self.wait_needed(key)
        if delay > 0:
            await asyncio.sleep(delay)
        self._sent[key].append(self._clock())

    @contextlib.asynccontextmanager
    async def slot(self, where, priority=None) -> AsyncIterator[None]:
        """Hold the conversation's turn for one send (an Address: its channel or chat is the key)."""
        async with self.lock(where.place):
            await self.turn(where.place)
            yield
