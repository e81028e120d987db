"""Rotation weeks in Table Storage: one row per iteration, keyed by its start date."""

from __future__ import annotations

import json
from datetime import date

from ..domain.rotation import Cover, RotationWeek
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore

_PARTITION = "week"


def _to_entity(week: RotationWeek) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": week.start.isoformat(),
        "Pair1": week.pair[0],
        "Pair2": week.pair[1],
        "Fallback": week.fallback or "",
        "FallbackDays": ",".join(str(d) for d in sorted(week.fallback_days)),
        "Observer": week.observer or "",
        "LengthDays": week.length_days,
        "Covers": json.dumps([[c.day.isoformat(), c.person, c.replaces] for c in week.covers]) if week.covers else "",
    }


def _from_entity(entity: dict) -> Stored[RotationWeek]:
    days = entity.get("FallbackDays", "")
    week = RotationWeek(
        start=date.fromisoformat(entity["RowKey"]),
        pair=(entity["Pair1"], entity["Pair2"]),
        fallback=entity.get("Fallback") or None,
        fallback_days=frozenset(int(d) for d in days.split(",") if d != ""),
        observer=entity.get("Observer") or None,
        length_days=int(entity.get("LengthDays", 7)),
        covers=tuple(Cover(date.fromisoformat(d), person, replaces)
                     for d, person, replaces in json.loads(entity.get("Covers") or "[]")),
    )
    return Stored(week, entity.metadata["etag"])


class TableWeekRepository:
    """Rotation weeks, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Weeks")

    async def get(self, start: date) -> Stored[RotationWeek] | None:
        """The week starting on this date, or None."""
        entity = await self._table.get(_PARTITION, start.isoformat())
        return _from_entity(entity) if entity else None

    async def between(self, first: date, last: date) -> list[Stored[RotationWeek]]:
        """Weeks whose start lies between two dates (inclusive), oldest first."""
        rows = self._table.query(
            "PartitionKey eq @p and RowKey ge @a and RowKey le @b",
            p=_PARTITION,
            a=first.isoformat(),
            b=last.isoformat(),
        )
        return sorted([_from_entity(e) async for e in rows], key=lambda s: s.value.start)

    async def list(self) -> list[Stored[RotationWeek]]:
        """Every week, oldest first."""
        rows = self._table.query("PartitionKey eq @p", p=_PARTITION)
        return sorted([_from_entity(e) async for e in rows], key=lambda s: s.value.start)

    async def add(self, week: RotationWeek) -> str:
        """Add a week; AlreadyExists if that iteration has one."""
        return await self._table.create(_to_entity(week))

    async def replace(self, week: RotationWeek, etag: str) -> str:
        """Change a week read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(week), etag)
