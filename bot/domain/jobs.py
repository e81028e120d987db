"""Durable jobs: work that must survive a restart and run once across instances, and the rules for failures."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .errors import DeliveryFailed, DomainError
from .retry import RetryPolicy
from .text import shorten

TOMBSTONE = "job.tombstone"
# Short leases, renewed while the handler runs: a crashed instance delays its work by one lease at most.
LEASE_SECONDS = 15.0
RENEW_SECONDS = 5.0
GIVE_UP_SECONDS = 6 * 3600
# Failed attempts wait 1–2 s, then 2–4 s, … up to 5–10 min (equal jitter, so instances don't retry in step).
BACKOFF = RetryPolicy(base=2.0, cap=600.0)
ERROR_CHARS = 300


class RetryLater(DomainError):
    """The job could not finish now (an outside service is down or throttling); run it again later.

    `after_seconds` is the earliest retry (a Retry-After); `waiting=True` says the job waits for something
    people do (a snooze, a channel to be chosen), which is no failure: no backoff, and no giving up.
    """

    def __init__(self, message: str, after_seconds: float | None = None, waiting: bool = False) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds
        self.waiting = waiting


@dataclass(frozen=True)
class Job:
    """A unit of work with a deterministic id, so enqueuing it twice keeps one.

    While a job is leased, `owner` is set and `due` is when the lease runs out: a job whose instance died
    is simply due again then.
    """

    id: str
    kind: str
    due: datetime
    payload: dict = field(default_factory=dict)
    attempts: int = 0
    owner: str = ""
    # When set, the finished job leaves a tombstone for this long, so that enqueuing the same id
    # again (Teams redelivering a message) is still recognised as a duplicate.
    remember_seconds: int = 0
    first_attempt: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str = ""
    parked_at: datetime | None = None

    @property
    def parked(self) -> bool:
        """True for a job that gave up: kept for people to look at, never run automatically."""
        return self.parked_at is not None

    def leased(self, owner: str, now: datetime, seconds: float) -> "Job":
        """This job, taken by an owner for one more attempt until the lease runs out."""
        return replace(self, owner=owner, due=now + timedelta(seconds=seconds), attempts=self.attempts + 1,
                       first_attempt=self.first_attempt or now, last_attempt=now)

    def renewed(self, now: datetime, seconds: float) -> "Job":
        """This leased job with its lease extended from now."""
        return replace(self, due=now + timedelta(seconds=seconds))

    def retry_at(self, when: datetime, error: str = "") -> "Job":
        """This job, released and due again at a later time."""
        return replace(self, due=when, owner="", last_error=error or self.last_error)

    def tombstone(self, now: datetime) -> "Job":
        """What stays of a finished job while its id must not be reused: its payload's "remember" entry, if any
        (what it did, for a retry of whoever added to it to find out)."""
        kept = {"remember": self.payload["remember"]} if "remember" in self.payload else {}
        return Job(self.id, TOMBSTONE, now + timedelta(seconds=self.remember_seconds), kept)

    def park(self, now: datetime, error: str) -> "Job":
        """This job given up on, with the reason."""
        return replace(self, due=now, owner="", parked_at=now, last_error=error)

    def revived(self, now: datetime) -> "Job":
        """A parked job due now again, as if new: its attempts and give-up clock start over."""
        return replace(self, due=now, owner="", parked_at=None, attempts=0, first_attempt=None)


def lane(job: Job) -> str:
    """Jobs of one lane run one after another on an instance, in due order; jobs of other lanes run beside them.

    A job may name its lane in its payload (a conversation's queued replies keep their order); the weekly
    cycle's steps share one; any other job is a lane of its own (its handler is safe beside any other job, as it
    must be anyway beside the other instances' jobs).
    """
    named = job.payload.get("lane") if isinstance(job.payload, dict) else None
    return named or ("cycle" if job.kind.startswith("cycle.") else f"job|{job.id}")


def one_line(error: BaseException | str, limit: int = ERROR_CHARS) -> str:
    """An error as one short line: unexpected exceptions carry their type, domain errors their sentence."""
    if isinstance(error, BaseException):
        message = str(error)
        error = message if isinstance(error, DomainError) and message else f"{type(error).__name__}: {message}".rstrip(": ")
    line = " ".join(error.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class JobPolicy:
    """Leases, backoff and giving up: what happens to a job after each attempt."""

    lease_seconds: float = LEASE_SECONDS
    renew_seconds: float = RENEW_SECONDS
    give_up_seconds: float = GIVE_UP_SECONDS
    backoff: RetryPolicy = BACKOFF

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds before the next attempt: jittered exponential backoff, never sooner than a Retry-After."""
        return max(self.backoff.delay(max(attempts, 1), rng=rng), retry_after or 0.0)

    def gave_up(self, job: Job, now: datetime) -> bool:
        """True once the job has been failing for longer than the give-up time, counted from its first attempt."""
        return job.first_attempt is not None and (now - job.first_attempt).total_seconds() >= self.give_up_seconds

    def after_failure(self, job: Job, now: datetime, error: BaseException, rng: random.Random | None = None) -> Job:
        """The job after a failed attempt: due again later, or parked (refused for good, or failing too long)."""
        line = one_line(error)
        if isinstance(error, RetryLater) and error.waiting:
            # Waiting is no failure: the attempts and the give-up clock start over when it runs again.
            wait = max(error.after_seconds or 0.0, 0.0)
            return replace(job.retry_at(now + timedelta(seconds=wait), line), attempts=0, first_attempt=None)
        if isinstance(error, DeliveryFailed):
            return job.park(now, line)  # refused for good: another attempt would be refused too
        if self.gave_up(job, now):
            return job.park(now, one_line(f"gave up after {job.attempts} attempts in {span(self.give_up_seconds)}: {line}"))
        after = error.after_seconds if isinstance(error, RetryLater) else None
        return job.retry_at(now + timedelta(seconds=self.delay(job.attempts, after, rng)), line)



def span(seconds: float) -> str:
    """A duration as people say it: 45 s, 90 min, 6 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:g} h" if seconds % 3600 == 0 else f"{seconds / 3600:.1f} h"


SUBJECT_CHARS = 120


def _short(value: str, limit: int = SUBJECT_CHARS) -> str:
    return shorten(str(value), limit)


def subject(job: Job) -> str:
    """What a job was about, in a few words, from its payload."""
    p = job.payload
    if isinstance(p.get("alert"), dict):
        a = p["alert"]
        title = a.get("exception_class") or a.get("trigger_message") or a.get("trigger_type") or "alert"
        detail = a.get("message") or a.get("context") or ""
        return _short(f"Bugsnag {title}" + (f": {detail}" if detail else ""))
    if isinstance(p.get("opening"), dict):
        return _short(f"request: {p['opening'].get('text', '')}")
    if isinstance(p.get("person"), list) and len(p["person"]) > 1:
        return _short(f"1:1 message to {p['person'][1]}")
    if "request" in p:
        level = f", escalation {p['level']}" if "level" in p else ""
        return _short(f"request {p['request']}{level}")
    if "key" in p:
        return _short(f"alert {p['key']}" + (f", escalation {p['level']}" if "level" in p else ""))
    if "start" in p:
        return f"the iteration starting {p['start']}"
    return _short(job.id)
