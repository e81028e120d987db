"""Freed memory handed back to the system: glibc keeps the holes a rush leaves in the heap until malloc_trim."""

from __future__ import annotations

import asyncio

import psutil
import pytest

from bot.memory import malloc_trim, release_freed_memory


def test_malloc_trim_gives_the_holes_in_the_heap_back():
    trim = malloc_trim()
    assert trim is not None  # glibc, as on the App Service image and this machine
    trim()
    process = psutil.Process()
    holes, kept = [], []
    for i in range(20000):
        holes.append(bytearray(2048))  # 40 MB in blocks of the size a rush's reads and sends leave behind
        if i % 16 == 0:
            kept.append(bytearray(256))  # a live block every 32 KB, so the heap's top cannot shrink
    grown = process.memory_info().rss
    del holes
    assert process.memory_info().rss > grown - 5 * 2**20  # free() alone keeps the holes
    trim()
    assert process.memory_info().rss < grown - 30 * 2**20  # most of the 40 MB given back
    assert len(kept) == 1250


async def test_the_release_runs_now_and_then_until_cancelled():
    task = asyncio.create_task(release_freed_memory(0.01))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
