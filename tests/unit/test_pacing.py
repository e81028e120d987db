"""The pacer keeps Teams' limits per thread and per app, and lets urgent sends go first (checked by order, not time)."""

from __future__ import annotations

import asyncio

import pytest
from collections import deque
from dataclasses import dataclass

from bot.core.events import Priority
from bot.web.pacing import THREAD_LIMITS, ConversationPacer, wait_needed


@dataclass(frozen=True)
class Where:
    place: str
    thread: str = ""


def test_the_eighth_send_within_a_second_waits_and_other_threads_do_not():
    sent = deque([100.0] * 7)
    assert 0.99 <= wait_needed(sent, THREAD_LIMITS, 100.0) <= 1.0
    assert wait_needed(deque(), THREAD_LIMITS, 100.0) == 0


def test_sixty_per_thirty_seconds():
    sent = deque(100.0 + i * 0.4 for i in range(60))
    assert wait_needed(sent, THREAD_LIMITS, 100.0 + 60 * 0.4) > 5


def windows_hold(times: list[float], limits) -> bool:
    """True when no window of any limit holds more sends than allowed."""
    times = sorted(times)
    for count, window in limits:
        for i in range(len(times)):
            if sum(1 for t in times[i:] if t - times[i] < window) > count:
                return False
    return True


async def test_threads_of_one_channel_have_their_own_budgets_and_the_app_budget_is_shared():
    thread_limits, app_limits = ((2, 0.2),), ((5, 0.2),)
    pacer = ConversationPacer(thread_limits, app_limits)
    log: list[tuple[str, float]] = []

    async def send(where: Where) -> None:
        async with pacer.slot(where, Priority.CARD):
            log.append((pacer.key(where), asyncio.get_running_loop().time()))

    await asyncio.gather(*(send(Where("19:c", f"t{i % 4}")) for i in range(12)))
    assert len(log) == 12
    for key in {k for k, _ in log}:
        assert windows_hold([t for k, t in log if k == key], thread_limits)
    assert windows_hold([t for _, t in log], app_limits)


async def test_when_the_app_budget_is_short_acknowledgements_go_first():
    pacer = ConversationPacer(((100, 1.0),), ((1, 0.05),))
    order: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        async with pacer.slot(Where("19:c", name), priority):
            order.append(name)

    # One send takes the budget; then cards and acknowledgements wait together.
    first = asyncio.create_task(send("first", Priority.CARD))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(send(f"card{i}", Priority.CARD)) for i in range(3)]
    waiting += [asyncio.create_task(send(f"page{i}", Priority.PAGE)) for i in range(2)]
    waiting += [asyncio.create_task(send(f"ack{i}", Priority.ACKNOWLEDGEMENT)) for i in range(3)]
    await asyncio.gather(first, *waiting)
    assert order[0] == "first"
    assert order[1:4] == ["ack0", "ack1", "ack2"] and order[4:6] == ["page0", "page1"]
    assert order[6:] == ["card0", "card1", "card2"]


async def test_sends_in_one_thread_keep_their_order():
    pacer = ConversationPacer(((2, 0.05),), ((100, 1.0),))
    order: list[int] = []

    async def send(i: int) -> None:
        async with pacer.slot(Where("19:c", "t"), Priority.CARD if i % 2 else Priority.ACKNOWLEDGEMENT):
            order.append(i)

    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(send(i)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == list(range(6))


async def test_a_cancelled_send_gives_its_place_back():
    pacer = ConversationPacer(((100, 1.0),), ((1, 0.1),))
    done: list[str] = []

    async def send(name: str, priority: Priority) -> None:
        async with pacer.slot(Where("19:c", name), priority):
            done.append(name)

    await send("first", Priority.CARD)
    urgent = asyncio.create_task(send("urgent", Priority.ACKNOWLEDGEMENT))
    later = asyncio.create_task(send("later", Priority.CARD))
    await asyncio.sleep(0.01)
    urgent.cancel()
    await asyncio.gather(later)
    assert done == ["first", "later"]


async def test_quiet_threads_are_forgotten():
    pacer = ConversationPacer(((2, 0.01),), ((100, 1.0),))
    for i in range(20):
        async with pacer.slot(Where("19:c", f"t{i}")):
            pass
    await asyncio.sleep(0.02)
    pacer.forget_idle()
    assert not pacer._sent and not pacer._locks


async def test_a_thread_quiet_for_the_short_windows_keeps_only_a_count_that_still_holds_the_long_limit():
    # 3 per 0.5 s stands in for Teams' 1,800 an hour: a quiet thread must not win back its hour by being forgotten.
    pacer = ConversationPacer(((1, 0.01), (3, 0.5)), ((100, 1.0),))
    loop = asyncio.get_running_loop()
    ended = []
    for _ in range(2):
        async with pacer.slot(Where("19:c", "t")):
            pass
        ended.append(loop.time())
    await asyncio.sleep(0.05)
    pacer.forget_idle()
    assert not pacer._sent and not pacer._locks and pacer.quiet(Where("19:c", "t")) == (2, pytest.approx(ended[-1], abs=0.01))
    assert len(pacer._quiet) == 1
    for _ in range(2):
        async with pacer.slot(Where("19:c", "t")):
            pass
        ended.append(loop.time())
    assert ended[2] - ended[1] < 0.1  # the third fits the long window at once
    assert ended[3] - ended[1] >= 0.5 - 0.01  # the fourth waits until the earlier two left it
    await asyncio.sleep(0.55)
    pacer.forget_idle()
    assert not pacer._sent and not pacer._quiet  # quiet for the longest window: nothing left


async def test_a_send_counts_when_it_ended_so_a_slow_or_retried_send_still_keeps_the_gap():
    # Teams counts a send when it arrives; one that took long (or was retried inside its slot) arrived late.
    pacer = ConversationPacer(((1, 0.05),), ((100, 1.0),))
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    async with pacer.slot(Where("19:c", "t")):
        await asyncio.sleep(0.1)  # the send and its retry
        times["first ended"] = loop.time()
    async with pacer.slot(Where("19:c", "t")):
        times["second began"] = loop.time()
    assert times["second began"] - times["first ended"] >= 0.05 - 0.005


async def test_sends_in_flight_fill_the_app_budget_until_they_end():
    pacer = ConversationPacer(((100, 1.0),), ((2, 0.05),))
    release = asyncio.Event()
    started: list[str] = []

    async def send(name: str, wait: bool) -> None:
        async with pacer.slot(Where("19:c", name)):
            started.append(name)
            if wait:
                await release.wait()

    slow = [asyncio.create_task(send(f"slow{i}", True)) for i in range(2)]
    third = asyncio.create_task(send("third", False))
    await asyncio.sleep(0.2)  # four windows: only the two sends still on their way hold the budget
    assert started == ["slow0", "slow1"]
    release.set()
    await asyncio.gather(*slow, third)
    assert started[-1] == "third"
