"""Swap offers in Table Storage: one row per offer, so only what was offered can be accepted, and only once."""

from __future__ import annotations

from datetime import date, datetime, timezone

from ..domain.swaps import Swap, SwapState
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "swap"


def _time(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def _to_entity(swap: Swap) -> dict:
    return {
        "PartitionKey": _PARTITION, "RowKey": key(swap.id),
        "Giver": swap.giver, "GiverName": swap.giver_name, "Taker": swap.taker, "TakerName": swap.taker_name,
        "Start": swap.start.isoformat(), "Day": swap.day.isoformat() if swap.day else "",
        "OfferedAt": _time(swap.offered_at), "OpenUntil": _time(swap.open_until), "State": swap.state.value,
        "AnsweredAt": _time(swap.answered_at), "Revision": swap.revision,
    }


def _from_entity(e: dict) -> Stored[Swap]:
    swap = Swap(
        id=unkey(e["RowKey"]), giver=e["Giver"], giver_name=e.get("GiverName", ""), taker=e["Taker"],
        taker_name=e.get("TakerName", ""), start=date.fromisoformat(e["Start"]),
        day=date.fromisoformat(e["Day"]) if e.get("Day") else None,
        offered_at=datetime.fromisoformat(e["OfferedAt"]), open_until=datetime.fromisoformat(e["OpenUntil"]),
        state=SwapState(e.get("State", "open")),
        answered_at=datetime.fromisoformat(e["AnsweredAt"]) if e.get("AnsweredAt") else None,
        revision=int(e.get("Revision", 0)),
    )
    return Stored(swap, e.metadata["etag"])


class TableSwapRepository:
    """Swap offers, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Swaps")

    async def add(self, swap: Swap) -> str:
        """Store a new offer."""
        return await self._table.create(_to_entity(swap))

    async def get(self, swap_id: str) -> Stored[Swap] | None:
        """One offer, or None."""
        entity = await self._table.get(_PARTITION, swap_id)
        return _from_entity(entity) if entity else None

    async def replace(self, swap: Swap, etag: str) -> str:
        """Change an offer read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(swap), etag)
