"""Durable jobs: work that must survive a restart and run once across instances."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .errors import DomainError

TOMBSTONE = "job.tombstone"


class RetryLater(DomainError):
    """The job could not finish now (an outside service is down or throttling); run it again later."""

    def __init__(self, message: str, after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


@dataclass(frozen=True)
class Job:
    """A unit of work with a deterministic id, so enqueuing it twice keeps one."""

    id: str
    kind: str
    due: datetime
    payload: dict = field(default_factory=dict)
    attempts: int = 0
    lease_until: datetime | None = None
    owner: str = ""
    # When set, the finished job leaves a tombstone for this long, so that enqueuing the same id
    # again (Teams redelivering a message) is still recognised as a duplicate.
    remember_seconds: int = 0

    def leased(self, owner: str, now: datetime, seconds: float) -> "Job":
        """This job, taken by an owner until the lease runs out."""
        return replace(self, owner=owner, lease_until=now + timedelta(seconds=seconds), attempts=self.attempts + 1)

    def retry_at(self, when: datetime) -> "Job":
        """This job, released and due again at a later time."""
        return replace(self, due=when, owner="", lease_until=None)

    def tombstone(self, now: datetime) -> "Job":
        """What stays of a finished job while its id must not be reused."""
        return Job(self.id, TOMBSTONE, now + timedelta(seconds=self.remember_seconds))

    def available(self, now: datetime) -> bool:
        """Due and not leased by anyone."""
        return self.due <= now and (self.lease_until is None or self.lease_until <= now)


def backoff_seconds(attempts: int, base: float = 2.0, cap: float = 3600.0) -> float:
    """How long to wait after a failed attempt: doubling, capped at an hour, never giving up."""
    return min(cap, base * 2 ** max(attempts - 1, 0))
