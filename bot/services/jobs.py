"""The job runner: every instance polls the shared queue; short leases, renewed while a job runs, make each job
run once in practice (at least once for sure), and jobs that keep failing are parked instead of looping.

Due jobs run side by side, at most MAX_RUNNING at once on an instance, so a handler stuck on a slow outside call
holds one slot, not the instance; jobs of one lane (bot/domain/jobs.py: lane) still run one after another."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Awaitable, Callable, Protocol

from ..domain.errors import DeliveryFailed, DomainError, StorageUnavailable
from ..domain.jobs import TOMBSTONE, Job, JobPolicy, RetryLater, lane, one_line, span
from ..domain.versioned import Stored
from ..logs import bound
from ..telemetry import span as trace_span

log = logging.getLogger(__name__)
JobHandler = Callable[[Job], Awaitable[None]]
POLL_LIMIT = 20  # due jobs read per poll; each is taken just before it runs, so its lease starts fresh
MAX_POLLS_PER_RUN = 10
MAX_RUNNING = 8  # due jobs running at once on an instance (prepared jobs, started by a reply, come on top)
STOP_GRACE_SECONDS = 3.0


class JobRepository(Protocol):
    """The durable queue: every change moves a job from the state it was read in; a lost race returns None."""

    async def add(self, job: Job) -> str | None: ...
    async def due(self, now: datetime, limit: int = POLL_LIMIT) -> list[Stored[Job]]: ...
    async def get(self, job_id: str) -> Stored[Job] | None: ...
    async def move(self, stored: Stored[Job], to: Job) -> str | None: ...
    async def finish(self, stored: Stored[Job]) -> bool: ...
    async def parked(self, limit: int = 100) -> list[Stored[Job]]: ...
    async def count_parked(self) -> int: ...
    async def migrate(self) -> int: ...


async def _forget(job: Job) -> None:
    """A tombstone's time is up: running it deletes it."""


class _Lease:
    """Keeps a running job's lease alive by moving it forward every few seconds, until stopped."""

    def __init__(self, runner: "JobRunner", job: Job, etag: str) -> None:
        self.job, self.etag = job, etag
        self.lost = False
        self._runner = runner
        self._done = asyncio.Event()
        self._task = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        policy = self._runner.policy
        while True:
            try:
                await asyncio.wait_for(self._done.wait(), policy.renew_seconds)
                return
            except asyncio.TimeoutError:
                pass
            renewed = self.job.renewed(self._runner.clock(), policy.lease_seconds)
            try:
                etag = await self._runner.repository.move(Stored(self.job, self.etag), renewed)
            except DomainError as err:
                # The lease still has a while to run; the next round tries again.
                log.warning("could not renew the lease of job %s: %s", self.job.id, err)
                continue
            except Exception:  # noqa: BLE001 - renewing must never break the run it protects
                log.exception("renewing the lease of job %s failed", self.job.id)
                continue
            if etag is None:
                self.lost = True
                log.warning("job %s (%s) lost its lease while running; another instance may run it too",
                            self.job.id, self.job.kind)
                return
            self.job, self.etag = renewed, etag

    @property
    def stored(self) -> Stored[Job]:
        """The job as it is stored now."""
        return Stored(self.job, self.etag)

    async def stop(self) -> None:
        """Stop renewing, after a renewal in flight has landed (so the stored version is known)."""
        self._done.set()
        await self._task

    def abandon(self) -> None:
        """Stop renewing at once (the run was cancelled): the lease runs out and another poller takes the job."""
        self._task.cancel()


class JobRunner:
    """Runs registered handlers by job kind; at-least-once with leases, once in practice."""

    def __init__(self, jobs: JobRepository, clock: Callable[[], datetime], poll_seconds: float = 1.0,
                 policy: JobPolicy | None = None, rng: random.Random | None = None,
                 max_running: int = MAX_RUNNING) -> None:
        self.repository = jobs
        self.clock = clock
        self.policy = policy or JobPolicy()
        self._poll = poll_seconds
        self._rng = rng
        self._handlers: dict[str, JobHandler] = {TOMBSTONE: _forget}
        self._running: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(max_running)
        # Jobs read by a poll and not done here yet, by lane: the first runs (or waits for a slot), the rest wait
        # behind it; a later poll that reads them again leaves them be.
        self._lanes: dict[str, list[Stored[Job]]] = {}
        self._queued: set[str] = set()
        self.owner = uuid.uuid4().hex[:12]
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()

    def handles(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """Register the handler of a job kind."""

        def register(handler: JobHandler) -> JobHandler:
            if kind in self._handlers:
                raise ValueError(f"job kind {kind!r} is registered twice")
            self._handlers[kind] = handler
            return handler

        return register

    async def enqueue(self, job: Job) -> bool:
        """Store a job for the pollers; False when that id was queued already (or is parked or remembered)."""
        if job.kind not in self._handlers:
            raise ValueError(f"no handler for job kind {job.kind!r}")
        return await self.repository.add(job) is not None

    async def amend(self, job_id: str, change: Callable[[Job], Job | None]) -> bool:
        """Change a job that still waits to be taken, racing other writers by ETag. `change` gets the job as stored
        (a tombstone too) and returns None when it holds the change already. True when it does now; False when it
        can't be changed (running, ran, parked or gone): then the caller queues another."""
        while True:
            stored = await self.repository.get(job_id)
            if stored is None:
                return False
            changed = change(stored.value)
            if changed is None:
                return True
            if stored.value.owner or stored.value.parked or stored.value.kind == TOMBSTONE:
                return False
            if await self.repository.move(stored, changed) is not None:
                return True

    async def is_running(self, job_id: str) -> bool:
        """True while an instance holds the job with this id (it is running, or about to)."""
        stored = await self.repository.get(job_id)
        return stored is not None and bool(stored.value.owner) and not stored.value.parked

    async def prepare(self, job: Job) -> "PreparedJob | None":
        """Store a job already leased to this instance (one round trip), to be started right after the caller's reply.

        If this instance dies before or while running it, the lease runs out and another poller runs it.
        None when a job with that id exists already.
        """
        if job.kind not in self._handlers:
            raise ValueError(f"no handler for job kind {job.kind!r}")
        leased = job.leased(self.owner, self.clock(), self.policy.lease_seconds)
        etag = await self.repository.add(leased)
        return PreparedJob(self, leased, etag) if etag else None

    def _start(self, job: Job, etag: str) -> asyncio.Task:
        return self._track(self._start_prepared(job, etag))

    async def _start_prepared(self, job: Job, etag: str) -> None:
        if self.clock() >= job.due:
            # The lease ran out before the start (a slow reply): take the job again, or leave it to whoever did.
            with bound(job_id=job.id, job_kind=job.kind):
                await self._take_and_run(Stored(job, etag))
            return
        await self._run(job, etag)

    def background(self, work: Awaitable[None]) -> asyncio.Task:
        """Run work that no stored job holds yet (a request waiting for storage) beside the jobs; stop() cuts it short."""
        return self._track(work)

    def _track(self, work: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def settle(self) -> None:
        """Wait until the jobs running on this instance (started inline or by a poll) have finished."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def run_due(self) -> int:
        """Take and run the jobs that are due now (side by side, a lane's in turn) and wait for them; the number run."""
        ran = 0
        for _ in range(MAX_POLLS_PER_RUN):
            read, lanes = await self.poll()
            if lanes:
                done, _ = await asyncio.wait(lanes)
                ran += sum(t.result() for t in done if not t.cancelled() and t.exception() is None)
            if read < POLL_LIMIT or self._stopping.is_set():
                break
        return ran

    async def poll(self) -> tuple[int, list[asyncio.Task]]:
        """Read the due jobs and start them without waiting for them: at most MAX_RUNNING run at once, a lane's
        jobs one after another in due order. How many were read, and the lanes started by this poll."""
        page = await self.repository.due(self.clock(), POLL_LIMIT)
        started = []
        for stored in page:
            job = stored.value
            if self._stopping.is_set():
                break
            if job.id in self._queued:
                continue  # read by an earlier poll: waiting for a slot or behind its lane
            self._queued.add(job.id)
            key = lane(job)
            if key in self._lanes:
                self._lanes[key].append(stored)
            else:
                self._lanes[key] = []
                started.append(self._track(self._run_lane(key, stored)))
        return len(page), started

    async def _run_lane(self, key: str, first: Stored[Job]) -> int:
        """Run a lane's jobs in turn, each when a slot is free; the number run."""
        ran, stored = 0, first
        try:
            while stored is not None:
                try:
                    if self._stopping.is_set():
                        break
                    async with self._slots:
                        ran += await self._take_and_run(stored)
                except DomainError as err:
                    # Taking it failed (storage is down): it is still due, and a later poll reads it again.
                    log.warning("job %s could not be taken: %s", stored.value.id, err)
                except Exception:  # noqa: BLE001 - one job's trouble must never stop its lane or the runner
                    log.exception("job %s could not be run", stored.value.id)
                finally:
                    self._queued.discard(stored.value.id)
                waiting = self._lanes.get(key)
                stored = waiting.pop(0) if waiting else None
        finally:
            for left in self._lanes.pop(key, []):
                self._queued.discard(left.value.id)
        return ran

    async def _take_and_run(self, stored: Stored[Job]) -> bool:
        job, now = stored.value, self.clock()
        if job.kind == TOMBSTONE:
            await self.repository.finish(stored)
            return False
        if job.owner and self.policy.gave_up(job, now):
            # Its runs keep ending with their instance (a crash, a kill): stop taking it.
            error = job.last_error or "its runs never finished; the instance running it stopped each time"
            await self._park(stored, job.park(now, one_line(f"gave up after {job.attempts} attempts in "
                                                             f"{span(self.policy.give_up_seconds)}: {error}")))
            return False
        leased = job.leased(self.owner, now, self.policy.lease_seconds)
        etag = await self.repository.move(stored, leased)
        if etag is None:
            return False  # another instance took it first
        await self._run(leased, etag)
        return True

    async def _run(self, job: Job, etag: str) -> None:
        with bound(job_id=job.id, job_kind=job.kind, attempt=str(job.attempts)), trace_span("job.run", job_kind=job.kind):
            await self._run_bound(job, etag)

    async def _run_bound(self, job: Job, etag: str) -> None:
        handler = self._handlers.get(job.kind)
        lease = _Lease(self, job, etag)
        failure: BaseException | None = None
        try:
            if handler is None:
                raise RetryLater(f"no handler for {job.kind!r} on this instance")
            await handler(job)
        except asyncio.CancelledError:
            lease.abandon()
            raise
        except (RetryLater, StorageUnavailable, DeliveryFailed) as err:
            failure = err
        except Exception as err:  # noqa: BLE001 - a failing job must never stop the runner
            log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
            failure = err
        await lease.stop()
        if lease.lost:
            return  # warned when it was lost; whoever holds the job now decides what happens to it
        try:
            if failure is not None:
                await self._failed(lease.stored, failure)
            elif job.remember_seconds:
                await self.repository.move(lease.stored, job.tombstone(self.clock()))
            elif not await self.repository.finish(lease.stored):
                log.warning("job %s ran, but another instance took it meanwhile; it may run again", job.id)
        except DomainError as err:
            log.warning("job %s could not be updated after its run (%s); it runs again after its lease", job.id, err)

    async def _failed(self, stored: Stored[Job], error: BaseException) -> None:
        job = stored.value
        after = self.policy.after_failure(job, self.clock(), error, self._rng)
        if after.parked:
            await self._park(stored, after)
            return
        wait = (after.due - self.clock()).total_seconds()
        if isinstance(error, RetryLater) and error.waiting:
            log.info("job %s (%s) waits %.1fs: %s", job.id, job.kind, wait, after.last_error)
        elif not isinstance(error, (RetryLater, StorageUnavailable)):
            log.info("job %s (%s) will retry in %.1fs", job.id, job.kind, wait)  # the traceback was logged already
        else:
            log.warning("job %s (%s) will retry in %.1fs (attempt %d): %s", job.id, job.kind, wait, job.attempts,
                        after.last_error)
        if await self.repository.move(stored, after) is None:
            log.warning("job %s could not be rescheduled; another instance has it", job.id)

    async def _park(self, stored: Stored[Job], parked: Job) -> None:
        if await self.repository.move(stored, parked) is None:
            return  # another instance moved it first
        log.warning("job %s (%s) parked after %d attempts; a lead can retry it with 'jobs': %s",
                    parked.id, parked.kind, parked.attempts, parked.last_error)

    # ------------------------------------------------------------------ parked jobs

    async def parked(self) -> list[Job]:
        """The parked jobs, most recently parked first."""
        found = [s.value for s in await self.repository.parked()]
        return sorted(found, key=lambda j: j.parked_at, reverse=True)

    async def parked_count(self) -> int:
        """How many jobs are parked."""
        return await self.repository.count_parked()

    async def retry(self, job_id: str, parked_at: datetime | None = None) -> Job | None:
        """Run a parked job again from the start; None when it is not parked (any more), or was parked again since."""
        stored = await self.repository.get(job_id)
        if stored is None or not stored.value.parked:
            return None
        if parked_at is not None and stored.value.parked_at != parked_at:
            return None  # a stale card: this is a later failure than the one the person saw
        return await self._revive(stored)

    async def retry_all(self, parked_until: datetime | None = None) -> list[Job]:
        """Run every parked job again (those parked by `parked_until`, when given); the jobs retried here."""
        revived = []
        for stored in await self.repository.parked():
            if parked_until is None or stored.value.parked_at <= parked_until:
                job = await self._revive(stored)
                if job is not None:
                    revived.append(job)
        return revived

    async def _revive(self, stored: Stored[Job]) -> Job | None:
        revived = stored.value.revived(self.clock())
        if await self.repository.move(stored, revived) is None:
            return None  # a double click: the other one retried it
        log.info("parked job %s (%s) retried", revived.id, revived.kind)
        self.wake()
        return revived

    # ------------------------------------------------------------------ polling

    async def run_forever(self) -> None:
        """Poll until stopped; storage outages only delay the next poll."""
        try:
            moved = await self.repository.migrate()
            if moved:
                log.info("moved %d jobs into the time-ordered layout", moved)
        except DomainError as err:
            log.warning("could not move jobs of the first layout yet: %s", err)
        while not self._stopping.is_set():
            try:
                # Started, not awaited: the next poll comes on time even while a job hangs.
                await self.poll()
            except DomainError as err:
                log.warning("job poll failed; retrying: %s", err)
            try:
                await asyncio.wait_for(self._woken.wait(), self._poll)
            except asyncio.TimeoutError:
                pass
            self._woken.clear()

    def wake(self) -> None:
        """Poll now instead of at the next interval (new work was just stored)."""
        self._woken.set()

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop polling; give running jobs a moment, then cut them short (their leases run out, and they run elsewhere)."""
        self._stopping.set()
        self._woken.set()
        running = set(self._running)
        if not running:
            return
        _, hung = await asyncio.wait(running, timeout=grace_seconds)
        for task in hung:
            task.cancel()
        if hung:
            log.warning("stopped %d running jobs; they run again after their lease", len(hung))
            await asyncio.wait(hung, timeout=1)


class PreparedJob:
    """A stored, leased job that runs once start() is called."""

    def __init__(self, runner: JobRunner, job: Job, etag: str) -> None:
        self._runner = runner
        self.job = job
        self._etag = etag

    def start(self, **extra) -> asyncio.Task:
        """Run it now in the background; `extra` adds facts only this instance knows (stored with the next lease move)."""
        job = replace(self.job, payload={**self.job.payload, **extra})
        return self._runner._start(job, self._etag)
