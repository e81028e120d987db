"""Durable jobs in Table Storage, kept in time order so that finding due work is a key-range read.

One partition holds three kinds of rows:
- `due|<UTC due time, fixed width>|<job id>`: a waiting or leased job with everything it needs. A lease is
  the row moved to the time the lease runs out, so due-polling reads only rows that are due now;
- `dead|<job id>`: a parked job, kept for people to look at and retry;
- `id|<job id>`: a marker naming the job's current row, for idempotent enqueueing and lookups by id.

Every change moves a job: one batch transaction deletes its current row (with its ETag), creates the new
one and points the marker at it. When two instances move the same job, the second batch fails because the
row it deletes is gone; nothing is half-written.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableTransactionError

from ..domain.jobs import Job
from ..domain.versioned import Stored
from . import legacy
from .tables import TableStore, key, translated, unkey

log = logging.getLogger(__name__)

PARTITION = "queue"
OLD_PARTITION = "job"  # rows of the first layout (one row per job, polled by a Due filter); moved over on start
DUE, DEAD, MARKER = "due|", "dead|", "id|"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
# Answers that mean "someone else moved this job first", not "storage is down".
_LOST = frozenset({404, 409, 412})
_LOST_ERRORS = (ResourceNotFoundError, ResourceModifiedError, ResourceExistsError)


def stamp(when: datetime) -> str:
    """A UTC time as fixed-width text that sorts in time order."""
    return when.astimezone(timezone.utc).strftime(_STAMP)


def row_key(job: Job) -> str:
    """Where a job lives: its due row, or its dead row once parked."""
    return f"{DEAD}{key(job.id)}" if job.parked else f"{DUE}{stamp(job.due)}|{key(job.id)}"


def _marker_key(job_id: str) -> str:
    return f"{MARKER}{key(job_id)}"


def _utc(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_entity(job: Job) -> dict:
    """A job as its row."""
    return {
        "PartitionKey": PARTITION,
        "RowKey": row_key(job),
        "Id": job.id,
        "Kind": job.kind,
        "Due": _utc(job.due),
        "Payload": json.dumps(job.payload, ensure_ascii=False),
        "Attempts": job.attempts,
        "Owner": job.owner,
        "RememberSeconds": job.remember_seconds,
        "FirstAttempt": _utc(job.first_attempt),
        "LastAttempt": _utc(job.last_attempt),
        "LastError": job.last_error,
        "ParkedAt": _utc(job.parked_at),
    }


def marker(job: Job) -> dict:
    """The marker row pointing at a job's current row."""
    return {"PartitionKey": PARTITION, "RowKey": _marker_key(job.id), "Row": row_key(job)}


def _from_entity(e: dict) -> Stored[Job]:
    row = e["RowKey"]
    due = (datetime.strptime(row.split("|")[1], _STAMP).replace(tzinfo=timezone.utc)
           if row.startswith(DUE) else datetime.fromisoformat(e["Due"]))
    job = Job(
        id=e["Id"],
        kind=e["Kind"],
        due=due,
        payload=legacy.job_payload(json.loads(e.get("Payload") or "{}")),
        attempts=int(e.get("Attempts", 0)),
        owner=e.get("Owner", ""),
        remember_seconds=int(e.get("RememberSeconds", 0)),
        first_attempt=_time(e.get("FirstAttempt")),
        last_attempt=_time(e.get("LastAttempt")),
        last_error=e.get("LastError", ""),
        parked_at=_time(e.get("ParkedAt")),
    )
    return Stored(job, e.metadata["etag"])


def _if_match(etag: str) -> dict:
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


class TableJobRepository:
    """The job queue, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._client = store.table("Jobs")

    async def _batch(self, what: str, operations: list) -> list | None:
        """Submit one transaction; None when it lost a race (a row gone, changed or taken)."""
        with translated(what):
            try:
                return await self._client.submit_transaction(operations)
            except TableTransactionError as err:
                if err.status_code in _LOST:
                    return None
                raise

    async def add(self, job: Job) -> str | None:
        """Enqueue a job in one round trip; None when a job with that id exists already (enqueuing is idempotent)."""
        results = await self._batch(f"enqueueing job {job.id}", [("create", marker(job)), ("create", to_entity(job))])
        return results[1]["etag"] if results else None

    async def due(self, now: datetime, limit: int = 20) -> list[Stored[Job]]:
        """Up to `limit` jobs due by now (waiting, or with a lease that ran out), soonest first: one key-range read."""
        found: list[Stored[Job]] = []
        with translated("polling due jobs"):
            rows = self._client.query_entities(
                "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
                parameters={"p": PARTITION, "lo": DUE, "hi": f"{DUE}{stamp(now)}}}"}, results_per_page=limit,
            )
            async for entity in rows:
                found.append(_from_entity(entity))
                if len(found) >= limit:
                    break
        return found

    async def get(self, job_id: str) -> Stored[Job] | None:
        """One job by id (waiting, leased, parked or a tombstone), or None."""
        with translated(f"reading job {job_id}"):
            try:
                pointer = await self._client.get_entity(PARTITION, _marker_key(job_id))
                return _from_entity(await self._client.get_entity(PARTITION, pointer["Row"]))
            except ResourceNotFoundError:
                return None

    async def move(self, stored: Stored[Job], to: Job) -> str | None:
        """Replace a job read with this ETag by its next state; the new ETag, or None when another instance moved it first."""
        old, new = row_key(stored.value), row_key(to)
        if old == new:
            # Same key (a renewal within the clock's resolution): a conditional replace does it alone.
            with translated(f"moving job {to.id}"):
                try:
                    meta = await self._client.update_entity(to_entity(to), mode="replace", **_if_match(stored.etag))
                    return meta["etag"]
                except _LOST_ERRORS:
                    return None
        results = await self._batch(f"moving job {to.id}", [
            ("delete", {"PartitionKey": PARTITION, "RowKey": old}, _if_match(stored.etag)),
            ("create", to_entity(to)),
            ("upsert", marker(to), {"mode": "replace"}),
        ])
        return results[1]["etag"] if results else None

    async def finish(self, stored: Stored[Job]) -> bool:
        """Delete a finished job and its marker; False when another instance moved it first."""
        results = await self._batch(f"finishing job {stored.value.id}", [
            ("delete", {"PartitionKey": PARTITION, "RowKey": row_key(stored.value)}, _if_match(stored.etag)),
            ("delete", {"PartitionKey": PARTITION, "RowKey": _marker_key(stored.value.id)}),
        ])
        return results is not None

    async def parked(self, limit: int = 100) -> list[Stored[Job]]:
        """Parked jobs (at most `limit`), by id."""
        found: list[Stored[Job]] = []
        with translated("listing parked jobs"):
            rows = self._client.query_entities(
                "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
                parameters={"p": PARTITION, "lo": DEAD, "hi": DEAD[:-1] + "}"}, results_per_page=min(limit, 1000),
            )
            async for entity in rows:
                found.append(_from_entity(entity))
                if len(found) >= limit:
                    break
        return found

    async def count_parked(self) -> int:
        """How many jobs are parked (reads their keys only)."""
        count = 0
        with translated("counting parked jobs"):
            rows = self._client.query_entities(
                "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
                parameters={"p": PARTITION, "lo": DEAD, "hi": DEAD[:-1] + "}"}, select=["RowKey"],
            )
            async for _ in rows:
                count += 1
        return count

    async def migrate(self) -> int:
        """Move jobs stored in the first layout into this one, keeping ids, due times and tombstones; how many."""
        moved = 0
        with translated("reading jobs of the first layout"):
            old = [e async for e in self._client.query_entities("PartitionKey eq @p", parameters={"p": OLD_PARTITION})]
        for entity in old:
            due = datetime.fromisoformat(entity["Due"])
            lease = _time(entity.get("LeaseUntil"))
            job = Job(unkey(entity["RowKey"]), entity["Kind"], max(due, lease) if lease else due,
                      legacy.job_payload(json.loads(entity.get("Payload") or "{}")), int(entity.get("Attempts", 0)),
                      entity.get("Owner", "") if lease else "", int(entity.get("RememberSeconds", 0)))
            await self.add(job)  # a job moved by another instance already is kept once
            with translated(f"removing job {job.id} of the first layout"):
                try:
                    await self._client.delete_entity(OLD_PARTITION, entity["RowKey"], **_if_match(entity.metadata["etag"]))
                except _LOST_ERRORS:
                    pass  # gone or changed already: another instance is moving it
            moved += 1
        return moved

