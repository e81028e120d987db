"""The job runner on Azurite: renewed leases, crashes, backoff, parking, retry and redelivery tombstones."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime, timedelta, timezone

from bot.domain.errors import DeliveryFailed
from bot.domain.jobs import TOMBSTONE, Job, JobPolicy, RetryLater
from bot.services.jobs import JobRunner
from bot.storage.jobs import TableJobRepository

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
# Leases short enough for a test in real time: the same rules, scaled down.
FAST = JobPolicy(lease_seconds=0.6, renew_seconds=0.2)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


async def poll(runner: JobRunner, seconds: float, every: float = 0.05) -> int:
    """Let a runner poll like run_forever does, for a while; how many jobs it ran."""
    ran, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        ran += await runner.run_due()
        await asyncio.sleep(every)
    return ran


async def test_two_runners_never_run_a_job_twice_while_its_lease_is_renewed(store, caplog):
    runs = []
    one, two = (JobRunner(TableJobRepository(store), system_clock, policy=FAST) for _ in range(2))
    for runner in (one, two):
        @runner.handles("slow")
        async def slow(job, runner=runner):
            runs.append(runner.owner)
            await asyncio.sleep(3 * FAST.lease_seconds)

    await one.enqueue(Job("s", "slow", system_clock()))
    first = asyncio.create_task(one.run_due())
    while not runs:
        await asyncio.sleep(0.01)
    assert await poll(two, 4 * FAST.lease_seconds) == 0
    assert await first == 1
    assert runs == [one.owner]
    assert await one.repository.get("s") is None
    assert "lost its lease" not in caplog.text


async def test_a_job_whose_instance_died_before_starting_it_runs_after_one_lease(store):
    runs = []
    dead, alive = (JobRunner(TableJobRepository(store), system_clock, policy=FAST) for _ in range(2))
    for runner in (dead, alive):
        runner.handles("page")(lambda job, runner=runner: asyncio.sleep(0, runs.append(runner.owner)))
    assert await dead.prepare(Job("p", "page", system_clock())) is not None  # stored leased; never started
    started = time.monotonic()
    while not runs:
        await alive.run_due()
        await asyncio.sleep(0.05)
    waited = time.monotonic() - started
    assert runs == [alive.owner]
    assert 0.4 < waited < FAST.lease_seconds + 0.5


async def test_a_hung_job_is_cut_short_on_stop_and_another_runner_takes_it_after_one_lease(store, caplog):
    runs, release = [], asyncio.Event()
    crashed, alive = (JobRunner(TableJobRepository(store), system_clock, policy=FAST) for _ in range(2))
    for runner in (crashed, alive):
        @runner.handles("hangs")
        async def hangs(job, runner=runner):
            runs.append(runner.owner)
            if runner is crashed:
                await release.wait()  # never set: a handler stuck on a call that never returns

    await crashed.enqueue(Job("h", "hangs", system_clock()))
    polling = asyncio.create_task(crashed.run_due())
    while not runs:
        await asyncio.sleep(0.01)
    await asyncio.sleep(2 * FAST.lease_seconds)  # renewed meanwhile: nobody else may take it
    assert await alive.run_due() == 0
    started = time.monotonic()
    await crashed.stop(grace_seconds=0.1)
    assert time.monotonic() - started < 1.5  # stop() does not wait for the hung handler
    assert await polling == 0
    assert await poll(alive, FAST.lease_seconds + 0.5) == 1
    assert runs == [crashed.owner, alive.owner]
    assert "run again after their lease" in caplog.text


async def test_failures_back_off_exponentially_with_jitter_and_honour_retry_after(store):
    clock, answers = Clock(), [None, None, None, 30.0, None]
    runner = JobRunner(TableJobRepository(store), clock, rng=random.Random(7))

    @runner.handles("flaky")
    async def flaky(job):
        if answers:
            raise RetryLater("Jira is down", after_seconds=answers.pop(0))

    await runner.enqueue(Job("f", "flaky", clock.now))
    waits = []
    for _ in range(5):
        ran_at = clock.now
        assert await runner.run_due() == 1
        stored = await runner.repository.get("f")
        waits.append((stored.value.due - ran_at).total_seconds())
        clock.now = stored.value.due
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4 and 4 <= waits[2] <= 8
    assert waits[3] == 30.0  # Retry-After is a floor over the 8–16 s backoff
    assert 16 <= waits[4] <= 32
    assert stored.value.attempts == 5 and stored.value.last_error == "Jira is down"
    await runner.run_due()
    assert await runner.repository.get("f") is None


async def test_a_job_that_keeps_failing_is_parked_after_the_give_up_time_and_never_runs_again(store, caplog):
    clock, calls = Clock(), []
    runner = JobRunner(TableJobRepository(store), clock, policy=JobPolicy(give_up_seconds=600), rng=random.Random(1))

    @runner.handles("broken")
    async def broken(job):
        calls.append(clock.now)
        raise KeyError("tour")

    await runner.enqueue(Job("b", "broken", clock.now, {"request": "r1"}))
    for _ in range(50):
        await runner.run_due()
        stored = await runner.repository.get("b")
        if stored.value.parked:
            break
        clock.now = stored.value.due
    parked = stored.value
    assert parked.parked and parked.first_attempt == NOW and parked.last_attempt == calls[-1]
    assert (calls[-1] - NOW).total_seconds() >= 600 and (calls[-2] - NOW).total_seconds() < 600
    assert parked.attempts == len(calls) and parked.last_error.startswith(f"gave up after {len(calls)} attempts in 10 min: KeyError")
    clock.now += timedelta(days=30)
    assert await runner.run_due() == 0 and len(calls) == parked.attempts
    assert await runner.enqueue(Job("b", "broken", clock.now)) is False  # the weekly re-enqueue cannot revive it
    assert await runner.parked_count() == 1
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == len(calls)  # one per attempt, for an unexpected error
    parks = [r for r in caplog.records if "parked after" in r.getMessage()]
    assert len(parks) == 1 and parks[0].levelno == logging.WARNING and "\n" not in parks[0].getMessage()


async def test_delivery_failed_parks_at_once_without_a_traceback(store, caplog):
    clock, calls = Clock(), []
    runner = JobRunner(TableJobRepository(store), clock)

    @runner.handles("post")
    async def post(job):
        calls.append(job.attempts)
        raise DeliveryFailed("posting to 19:x: Teams refused it (403)")

    await runner.enqueue(Job("d", "post", clock.now))
    await runner.run_due()
    (parked,) = await runner.parked()
    assert (parked.attempts, parked.last_error, parked.parked_at) == (1, "posting to 19:x: Teams refused it (403)", NOW)
    clock.now += timedelta(hours=1)
    assert await runner.run_due() == 0 and calls == [1]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_retried_parked_job_runs_again_once_even_when_clicked_twice(store):
    clock, calls, refuse = Clock(), [], [True]
    runner = JobRunner(TableJobRepository(store), clock)

    @runner.handles("post")
    async def post(job):
        calls.append(job.attempts)
        if refuse[0]:
            raise DeliveryFailed("refused")

    await runner.enqueue(Job("d", "post", clock.now))
    await runner.run_due()
    (parked,) = await runner.parked()
    refuse[0] = False
    clock.now += timedelta(hours=7)
    assert await runner.retry("d", parked.parked_at + timedelta(seconds=1)) is None  # a card about another parking
    clicks = await asyncio.gather(runner.retry("d", parked.parked_at), runner.retry("d", parked.parked_at))
    assert sum(c is not None for c in clicks) == 1
    assert await runner.retry("d", parked.parked_at) is None
    assert await runner.run_due() == 1
    assert calls == [1, 1]  # attempts start over, and the give-up clock with them
    assert await runner.repository.get("d") is None and await runner.parked_count() == 0


async def test_retry_all_takes_the_jobs_parked_when_the_card_was_drawn(store):
    clock = Clock()
    runner = JobRunner(TableJobRepository(store), clock)

    @runner.handles("refused")
    async def refused(job):
        raise DeliveryFailed("refused")

    for n in range(3):
        await runner.enqueue(Job(f"r{n}", "refused", clock.now))
        await runner.run_due()
        clock.now += timedelta(minutes=1)
    drawn = NOW + timedelta(minutes=1, seconds=30)
    assert sorted(j.id for j in await runner.retry_all(drawn)) == ["r0", "r1"]
    assert [j.id for j in await runner.parked()] == ["r2"]


async def test_a_redelivered_page_is_a_duplicate_until_its_tombstone_expires(store):
    clock, runs = Clock(), []
    runner = JobRunner(TableJobRepository(store), clock)
    runner.handles("request.page")(lambda job: asyncio.sleep(0, runs.append(job.id)))
    prepared = await runner.prepare(Job("page|m1", "request.page", clock.now, remember_seconds=3600))
    await prepared.start(acked_at=clock.now.isoformat())
    assert runs == ["page|m1"]
    assert (await runner.repository.get("page|m1")).value.kind == TOMBSTONE
    assert await runner.prepare(Job("page|m1", "request.page", clock.now, remember_seconds=3600)) is None
    clock.now += timedelta(minutes=59)
    assert await runner.run_due() == 0 and await runner.enqueue(Job("page|m1", "request.page", clock.now)) is False
    clock.now += timedelta(minutes=2)
    await runner.run_due()
    assert await runner.repository.get("page|m1") is None and runs == ["page|m1"]
    assert await runner.enqueue(Job("page|m1", "request.page", clock.now)) is True


async def test_a_job_waiting_for_people_does_not_back_off_or_give_up(store):
    clock = Clock()
    runner = JobRunner(TableJobRepository(store), clock, policy=JobPolicy(give_up_seconds=600))

    @runner.handles("alert.deliver")
    async def deliver(job):
        raise RetryLater("no alert channel yet", 5, waiting=True)

    await runner.enqueue(Job("a", "alert.deliver", clock.now))
    for _ in range(100):  # 25 minutes of waiting
        await runner.run_due()
        clock.now += timedelta(seconds=15)
    stored = await runner.repository.get("a")
    assert not stored.value.parked and stored.value.due <= clock.now


def add(item: str):
    """A change that adds an item to a job's list; None when the job holds (or, as a tombstone, held) it."""

    def change(job: Job) -> Job | None:
        if item in job.payload.get("remember", ()):
            return None
        return Job(job.id, job.kind, job.due, {**job.payload, "remember": [*job.payload.get("remember", ()), item]},
                   remember_seconds=job.remember_seconds)
    return change


async def test_amend_changes_a_waiting_job_and_says_no_once_it_runs_ran_or_is_gone(store):
    clock = Clock()
    runner = JobRunner(TableJobRepository(store), clock)
    started, release = asyncio.Event(), asyncio.Event()
    seen = []

    @runner.handles("list")
    async def listed(job):
        seen.append(list(job.payload["remember"]))
        started.set()
        await release.wait()

    assert not await runner.amend("nothing", add("a"))  # gone
    await runner.enqueue(Job("w", "list", NOW, {"remember": ["a"]}, remember_seconds=3600))
    # Many writers at once: each lands (ETags make the losers read again), and a repeat is a no-op.
    assert all(await asyncio.gather(*(runner.amend("w", add(x)) for x in "bcdef"), runner.amend("w", add("a"))))
    running = asyncio.create_task(runner.run_due())
    await started.wait()
    assert sorted(seen[0]) == list("abcdef")
    assert await runner.amend("w", add("c"))  # running with it: nothing to do
    assert not await runner.amend("w", add("g"))  # running without it: the caller queues another
    release.set()
    await running
    stored = await runner.repository.get("w")
    assert stored.value.kind == TOMBSTONE and sorted(stored.value.payload["remember"]) == list("abcdef")
    assert await runner.amend("w", add("b"))  # it went out with b
    assert not await runner.amend("w", add("g"))  # it went out without g
    assert not await runner.enqueue(Job("w", "list", NOW, {"remember": ["g"]}))  # and nobody reopens it
