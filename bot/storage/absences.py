"""Absences in Table Storage: one partition per person, one row per absence."""

from __future__ import annotations

from datetime import date

from ..domain.planning import Absence
from .tables import EntityTable, TableStore, key, unkey


def _row(absence: Absence) -> str:
    return f"{absence.first.isoformat()}_{absence.last.isoformat()}_{absence.source}"


def _to_entity(absence: Absence) -> dict:
    return {
        "PartitionKey": key(absence.person),
        "RowKey": _row(absence),
        "First": absence.first.isoformat(),
        "Last": absence.last.isoformat(),
        "Source": absence.source,
    }


def _from_entity(e: dict) -> Absence:
    return Absence(unkey(e["PartitionKey"]), date.fromisoformat(e["First"]), date.fromisoformat(e["Last"]), e.get("Source", "manual"))


class TableAbsenceRepository:
    """Who is away when, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Absences")

    async def add(self, absence: Absence) -> bool:
        """Record an absence; False when exactly this one was recorded already (adding is idempotent)."""
        return await self._table.create_if_missing(_to_entity(absence))

    async def remove(self, absence: Absence) -> None:
        """Forget an absence (whatever its ETag: an absence row is never changed, only added or removed)."""
        await self._table.delete_if_present(absence.person, _row(absence))

    async def of(self, person: str) -> list[Absence]:
        """One person's absences, earliest first."""
        rows = self._table.query("PartitionKey eq @p", p=key(person))
        return sorted([_from_entity(e) async for e in rows], key=lambda a: a.first)

    async def overlapping(self, first: date, last: date) -> list[Absence]:
        """Everyone's absences that touch a date range (inclusive)."""
        rows = self._table.query("First le @last and Last ge @first", first=first.isoformat(), last=last.isoformat())
        return sorted([_from_entity(e) async for e in rows], key=lambda a: (a.first, a.person))
