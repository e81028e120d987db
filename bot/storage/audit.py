"""The audit trail in Table Storage: append-only, newest first within a month."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from .tables import EntityTable, TableStore

_FAR = 10**13  # milliseconds; row keys count down from here so a month's newest rows come first


@dataclass(frozen=True)
class AuditEntry:
    """Who changed what, when."""

    at: datetime
    who: str
    what: str


class TableAuditLog:
    """Every change to the rotation, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Audit")

    async def record(self, at: datetime, who: str, what: str) -> None:
        """Append one entry."""
        utc = at.astimezone(timezone.utc)
        row = f"{_FAR - int(utc.timestamp() * 1000):014d}-{uuid.uuid4().hex[:8]}"
        await self._table.create({"PartitionKey": utc.strftime("%Y-%m"), "RowKey": row, "At": utc.isoformat(), "Who": who, "What": what[:2000]})

    async def recent(self, months: list[str], limit: int = 20) -> list[AuditEntry]:
        """The newest entries of the given months (YYYY-MM), newest first."""
        entries: list[AuditEntry] = []
        for month in months:
            async for e in self._table.query("PartitionKey eq @p", p=month):
                entries.append(AuditEntry(datetime.fromisoformat(e["At"]), e["Who"], e["What"]))
        return sorted(entries, key=lambda a: a.at, reverse=True)[:limit]
