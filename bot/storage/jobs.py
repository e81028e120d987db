"""Durable jobs in Table Storage: created once by id, taken with an ETag-conditional lease."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ..domain.errors import AlreadyExists, ConcurrencyError, NotFound
from ..domain.jobs import Job
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "job"


def _utc(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def _to_entity(job: Job) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": key(job.id),
        "Kind": job.kind,
        "Due": _utc(job.due),
        "Payload": json.dumps(job.payload, ensure_ascii=False),
        "Attempts": job.attempts,
        "LeaseUntil": _utc(job.lease_until),
        "Owner": job.owner,
        "RememberSeconds": job.remember_seconds,
    }


def _from_entity(e: dict) -> Stored[Job]:
    job = Job(
        id=unkey(e["RowKey"]),
        kind=e["Kind"],
        due=datetime.fromisoformat(e["Due"]),
        payload=json.loads(e.get("Payload") or "{}"),
        attempts=int(e.get("Attempts", 0)),
        lease_until=datetime.fromisoformat(e["LeaseUntil"]) if e.get("LeaseUntil") else None,
        owner=e.get("Owner", ""),
        remember_seconds=int(e.get("RememberSeconds", 0)),
    )
    return Stored(job, e.metadata["etag"])


class TableJobRepository:
    """The job queue, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Jobs")

    async def add(self, job: Job) -> str | None:
        """Enqueue a job; None when a job with that id exists already (enqueuing is idempotent)."""
        try:
            return await self._table.create(_to_entity(job))
        except AlreadyExists:
            return None

    async def due(self, now: datetime, limit: int = 50) -> list[Stored[Job]]:
        """Jobs due by now and not leased, soonest first."""
        rows = self._table.query("PartitionKey eq @p and Due le @now", p=_PARTITION, now=_utc(now))
        found = [s for s in [_from_entity(e) async for e in rows] if s.value.available(now)]
        return sorted(found, key=lambda s: s.value.due)[:limit]

    async def get(self, job_id: str) -> Stored[Job] | None:
        """One job, or None."""
        entity = await self._table.get(_PARTITION, job_id)
        return _from_entity(entity) if entity else None

    async def take(self, stored: Stored[Job], leased: Job) -> str | None:
        """Lease a job read with this ETag; None when another instance took or finished it first."""
        try:
            return await self._table.replace(_to_entity(leased), stored.etag)
        except (ConcurrencyError, NotFound):
            return None

    async def release(self, job: Job, etag: str) -> str | None:
        """Write a job back (rescheduled); None when the lease was lost meanwhile."""
        try:
            return await self._table.replace(_to_entity(job), etag)
        except (ConcurrencyError, NotFound):
            return None

    async def finish(self, job: Job, etag: str) -> bool:
        """Delete a finished job; False when the lease was lost meanwhile."""
        try:
            await self._table.delete(_PARTITION, job.id, etag)
            return True
        except (ConcurrencyError, NotFound):
            return False
