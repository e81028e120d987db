"""Memory the bot freed, handed back to the system now and then.

CPython returns freed memory to the C library's malloc, which keeps it for reuse. After a rush of reads and sends,
that free space lies between blocks still in use, so glibc cannot give it back on its own and the process' resident
memory stays at its high-water mark, a little higher after each spike. glibc's malloc_trim(0) releases the free
pages inside the heap as well. Where there is no malloc_trim (macOS, musl), nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from typing import Callable

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 60.0


def malloc_trim() -> Callable[[], int] | None:
    """glibc's malloc_trim(0), or None where the C library has none."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


async def release_freed_memory(interval: float = INTERVAL_SECONDS) -> None:
    """Every `interval` seconds, give the pages malloc holds free back to the system (until cancelled)."""
    trim = malloc_trim()
    if trim is None:
        log.info("no malloc_trim in this C library: freed memory stays with the process")
        return
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(trim)  # ctypes lets go of the GIL; the walk over the heap takes a few ms
