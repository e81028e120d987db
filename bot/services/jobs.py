"""The job runner: every instance polls the shared queue; a conditional lease makes each job run once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from ..domain.errors import DomainError, StorageUnavailable
from ..domain.jobs import TOMBSTONE, Job, RetryLater, backoff_seconds
from ..domain.versioned import Stored
from ..logs import bound
from ..telemetry import span

log = logging.getLogger(__name__)
JobHandler = Callable[[Job], Awaitable[None]]
LEASE_SECONDS = 60.0


class JobRepository(Protocol):
    """The durable queue."""

    async def add(self, job: Job) -> str | None: ...
    async def due(self, now: datetime, limit: int = 50) -> list[Stored[Job]]: ...
    async def get(self, job_id: str) -> Stored[Job] | None: ...
    async def take(self, stored: Stored[Job], leased: Job) -> str | None: ...
    async def release(self, job: Job, etag: str) -> str | None: ...
    async def finish(self, job: Job, etag: str) -> bool: ...


async def _forget(job: Job) -> None:
    """A tombstone's time is up: running it deletes it."""


class JobRunner:
    """Runs registered handlers by job kind; at-least-once with leases, once in practice."""

    def __init__(self, jobs: JobRepository, clock: Callable[[], datetime], poll_seconds: float = 1.0) -> None:
        self._jobs = jobs
        self._clock = clock
        self._poll = poll_seconds
        self._handlers: dict[str, JobHandler] = {TOMBSTONE: _forget}
        self._inline: set[asyncio.Task] = set()
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
        """Store a job for the pollers; False when that id was queued already."""
        if job.kind not in self._handlers:
            raise ValueError(f"no handler for job kind {job.kind!r}")
        return await self._jobs.add(job) is not None

    async def prepare(self, job: Job) -> "PreparedJob | None":
        """Store a job already leased to this instance, to be started right after the caller's reply.

        If this instance dies before or while running it, the lease runs out and another poller runs it.
        None when a job with that id exists already.
        """
        if job.kind not in self._handlers:
            raise ValueError(f"no handler for job kind {job.kind!r}")
        leased = job.leased(self.owner, self._clock(), LEASE_SECONDS)
        etag = await self._jobs.add(leased)
        return PreparedJob(self, leased, etag) if etag else None

    def _start(self, job: Job, etag: str) -> asyncio.Task:
        task = asyncio.create_task(self._run(job, etag))
        self._inline.add(task)
        task.add_done_callback(self._inline.discard)
        return task

    async def run_due(self) -> int:
        """Take and run every job that is due now; the number run here."""
        now = self._clock()
        ran = 0
        for stored in await self._jobs.due(now):
            leased = stored.value.leased(self.owner, now, LEASE_SECONDS)
            etag = await self._jobs.take(stored, leased)
            if etag is None:
                continue  # another instance took it first
            await self._run(leased, etag)
            ran += 1
        return ran

    async def _run(self, job: Job, etag: str) -> None:
        with bound(job_id=job.id, job_kind=job.kind, attempt=str(job.attempts)), span("job.run", job_kind=job.kind):
            await self._run_bound(job, etag)

    async def _run_bound(self, job: Job, etag: str) -> None:
        handler = self._handlers.get(job.kind)
        try:
            if handler is None:
                raise RetryLater(f"no handler for {job.kind!r} on this instance")
            await handler(job)
        except RetryLater as err:
            delay = err.after_seconds if err.after_seconds is not None else backoff_seconds(job.attempts)
            log.warning("job %s (%s) will retry in %.1fs: %s", job.id, job.kind, delay, err)
            await self._reschedule(job, etag, delay)
            return
        except StorageUnavailable as err:
            log.warning("job %s (%s) hit a storage outage: %s", job.id, job.kind, err)
            await self._reschedule(job, etag, backoff_seconds(job.attempts))
            return
        except Exception:  # noqa: BLE001 - a failing job must never stop the runner; it is retried
            log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
            await self._reschedule(job, etag, backoff_seconds(job.attempts))
            return
        try:
            if job.remember_seconds:
                await self._jobs.release(job.tombstone(self._clock()), etag)
            else:
                await self._jobs.finish(job, etag)
        except DomainError:
            log.warning("job %s ran but could not be removed; it may run again", job.id, exc_info=True)

    async def _reschedule(self, job: Job, etag: str, delay: float) -> None:
        try:
            await self._jobs.release(job.retry_at(self._clock() + timedelta(seconds=delay)), etag)
        except DomainError:
            log.warning("job %s could not be rescheduled; its lease will run out and it will run again", job.id)

    async def run_forever(self) -> None:
        """Poll until stopped; storage outages only delay the next poll."""
        while not self._stopping.is_set():
            try:
                await self.run_due()
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

    async def stop(self) -> None:
        """Stop polling and let jobs started inline finish."""
        self._stopping.set()
        self._woken.set()
        if self._inline:
            # Jobs cut short keep their lease and run again elsewhere once it runs out.
            await asyncio.wait(self._inline, timeout=3)


class PreparedJob:
    """A stored, leased job that runs once start() is called."""

    def __init__(self, runner: JobRunner, job: Job, etag: str) -> None:
        self._runner = runner
        self.job = job
        self._etag = etag

    def start(self, **extra) -> asyncio.Task:
        """Run it now in the background; `extra` adds facts only this instance knows (not stored)."""
        job = replace(self.job, payload={**self.job.payload, **extra})
        return self._runner._start(job, self._etag)
