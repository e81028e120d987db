"""The job runner with an in-memory queue fake: leases, retries, and once-only runs across runners."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.domain.jobs import LEASE_SECONDS, Job, RetryLater
from bot.domain.versioned import Stored
from bot.services.jobs import JobRunner


class FakeJobs:
    """The JobRepository port over a dict, with ETags, as the Table implementation behaves."""

    def __init__(self) -> None:
        self.rows: dict[str, Stored[Job]] = {}
        self._etags = itertools.count(1)

    def _put(self, job: Job) -> str:
        etag = str(next(self._etags))
        self.rows[job.id] = Stored(job, etag)
        return etag

    def _current(self, stored) -> bool:
        current = self.rows.get(stored.value.id)
        return current is not None and current.etag == stored.etag

    async def add(self, job):
        return None if job.id in self.rows else self._put(job)

    async def due(self, now, limit=20):
        waiting = [s for s in self.rows.values() if not s.value.parked and s.value.due <= now]
        return sorted(waiting, key=lambda s: s.value.due)[:limit]

    async def get(self, job_id):
        return self.rows.get(job_id)

    async def move(self, stored, to):
        return self._put(to) if self._current(stored) else None

    async def finish(self, stored):
        if self._current(stored):
            del self.rows[stored.value.id]
            return True
        return False

    async def parked(self, limit=100):
        return [s for s in self.rows.values() if s.value.parked][:limit]

    async def count_parked(self):
        return len(await self.parked())

    async def migrate(self):
        return 0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


async def test_two_runners_sharing_a_queue_run_a_job_once():
    jobs, clock, ran = FakeJobs(), Clock(), []
    runners = [JobRunner(jobs, clock), JobRunner(jobs, clock)]
    for runner in runners:
        @runner.handles("say")
        async def say(job, runner=runner):
            ran.append((runner.owner, job.id))
    await runners[0].enqueue(Job("j1", "say", clock.now))
    assert await runners[0].enqueue(Job("j1", "say", clock.now)) is False  # the same id is kept once
    await asyncio.gather(*(r.run_due() for r in runners))
    assert len(ran) == 1 and jobs.rows == {}


async def test_retry_later_reschedules_with_its_delay():
    jobs, clock, calls = FakeJobs(), Clock(), []
    runner = JobRunner(jobs, clock)

    @runner.handles("flaky")
    async def flaky(job):
        calls.append(job.attempts)
        if len(calls) < 3:
            raise RetryLater("Jira is down", after_seconds=30)

    await runner.enqueue(Job("j", "flaky", clock.now))
    await runner.run_due()
    assert jobs.rows["j"].value.due == clock.now + timedelta(seconds=30)
    assert await runner.run_due() == 0  # not due yet
    clock.now += timedelta(seconds=30)
    await runner.run_due()
    clock.now += timedelta(seconds=30)
    await runner.run_due()
    assert calls == [1, 2, 3] and jobs.rows == {}


async def test_a_crashing_handler_never_stops_the_runner_and_backs_off():
    jobs, clock = FakeJobs(), Clock()
    runner = JobRunner(jobs, clock)

    @runner.handles("boom")
    async def boom(job):
        raise KeyError("bug")

    await runner.enqueue(Job("b", "boom", clock.now))
    await runner.run_due()
    assert jobs.rows["b"].value.due > clock.now and jobs.rows["b"].value.attempts == 1


async def test_a_job_whose_instance_died_runs_when_its_lease_expires():
    jobs, clock, ran = FakeJobs(), Clock(), []
    dead = JobRunner(jobs, clock)
    alive = JobRunner(jobs, clock)
    for runner in (dead, alive):
        runner.handles("page")(lambda job: asyncio.sleep(0, ran.append(job.id)))
    prepared = await dead.prepare(Job("p", "page", clock.now))
    assert prepared is not None  # stored leased; the instance "dies" before start()
    assert await alive.run_due() == 0
    clock.now += timedelta(seconds=LEASE_SECONDS)
    assert await alive.run_due() == 1 and ran == ["p"]


async def test_prepared_job_runs_with_facts_only_this_instance_knows():
    jobs, clock, seen = FakeJobs(), Clock(), []
    runner = JobRunner(jobs, clock)
    runner.handles("page")(lambda job: asyncio.sleep(0, seen.append(job.payload)))
    prepared = await runner.prepare(Job("p", "page", clock.now, {"request": "r1"}))
    await prepared.start(acked_at="now")
    assert seen == [{"request": "r1", "acked_at": "now"}] and jobs.rows == {}
    assert await runner.prepare(replace(prepared.job, owner="")) is not None


async def test_a_remembered_job_keeps_its_id_taken_until_the_tombstone_expires():
    jobs, clock, ran = FakeJobs(), Clock(), []
    runner = JobRunner(jobs, clock)
    runner.handles("page")(lambda job: asyncio.sleep(0, ran.append(job.id)))
    await runner.enqueue(Job("page|m1", "page", clock.now, remember_seconds=3600))
    await runner.run_due()
    assert ran == ["page|m1"]
    assert await runner.enqueue(Job("page|m1", "page", clock.now)) is False  # a redelivery is a duplicate
    clock.now += timedelta(seconds=3601)
    await runner.run_due()
    assert jobs.rows == {} and ran == ["page|m1"]


async def test_a_hung_job_does_not_delay_another_due_job():
    jobs, clock, ran, hung = FakeJobs(), Clock(), [], asyncio.Event()
    runner = JobRunner(jobs, clock, poll_seconds=0.01)

    @runner.handles("hangs")
    async def hangs(job):
        hung.set()
        await asyncio.Event().wait()  # a call that never returns

    runner.handles("quick")(lambda job: asyncio.sleep(0, ran.append(job.id)))
    await runner.enqueue(Job("h", "hangs", clock.now))
    await runner.enqueue(Job("due-with-it", "quick", clock.now))
    polling = asyncio.create_task(runner.run_forever())
    await asyncio.wait_for(hung.wait(), 1)
    await runner.enqueue(Job("due-later", "quick", clock.now))  # due while the hung one still runs
    for _ in range(100):
        if len(ran) == 2:
            break
        await asyncio.sleep(0.01)
    assert ran == ["due-with-it", "due-later"]
    await runner.stop(grace_seconds=0.05)
    await asyncio.wait_for(polling, 1)


async def test_due_jobs_run_side_by_side_up_to_the_limit():
    jobs, clock, running, most = FakeJobs(), Clock(), set(), []
    runner = JobRunner(jobs, clock, max_running=3)

    @runner.handles("slow")
    async def slow(job):
        running.add(job.id)
        most.append(len(running))
        await asyncio.sleep(0.05)
        running.discard(job.id)

    for n in range(7):
        await runner.enqueue(Job(f"s{n}", "slow", clock.now))
    assert await runner.run_due() == 7
    assert max(most) == 3 and jobs.rows == {}


async def test_jobs_of_one_lane_run_one_after_another_in_due_order():
    jobs, clock, steps = FakeJobs(), Clock(), []
    runner = JobRunner(jobs, clock)

    @runner.handles("reply")
    async def reply(job):
        steps.append(f"start {job.id}")
        await asyncio.sleep(0.01)
        steps.append(f"end {job.id}")

    for n in range(3):
        await runner.enqueue(Job(f"r{n}", "reply", clock.now + timedelta(milliseconds=n), {"lane": "conversation|c"}))
    clock.now += timedelta(seconds=1)
    assert await runner.run_due() == 3
    assert steps == ["start r0", "end r0", "start r1", "end r1", "start r2", "end r2"]
