"""Handbook entries in Table Storage: one row per entry, keyed by its stable id."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ..domain.handbook import Entry, Link
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "entry"


def _to_entity(entry: Entry) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": key(entry.id),
        "Title": entry.title,
        "Keywords": json.dumps(list(entry.keywords), ensure_ascii=False),
        "Solution": entry.solution,
        "Links": json.dumps([[link.url, link.text] for link in entry.links], ensure_ascii=False),
        "AddedBy": entry.added_by,
        "AddedAt": entry.added_at.astimezone(timezone.utc).isoformat() if entry.added_at else "",
        "Uses": entry.uses,
        "Revision": entry.revision,
    }


def _from_entity(e: dict) -> Stored[Entry]:
    entry = Entry(
        id=unkey(e["RowKey"]),
        title=e.get("Title", ""),
        keywords=tuple(json.loads(e.get("Keywords") or "[]")),
        solution=e.get("Solution", ""),
        links=tuple(Link(url, text) for url, text in json.loads(e.get("Links") or "[]")),
        added_by=e.get("AddedBy", ""),
        added_at=datetime.fromisoformat(e["AddedAt"]) if e.get("AddedAt") else None,
        uses=int(e.get("Uses", 0)),
        revision=int(e.get("Revision", 0)),
    )
    return Stored(entry, e.metadata["etag"])


class TableHandbookRepository:
    """Handbook entries, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Handbook")

    async def get(self, entry_id: str) -> Stored[Entry] | None:
        """One entry, or None."""
        entity = await self._table.get(_PARTITION, entry_id)
        return _from_entity(entity) if entity else None

    async def list(self) -> list[Stored[Entry]]:
        """Every entry."""
        return [_from_entity(e) async for e in self._table.query("PartitionKey eq @p", p=_PARTITION)]

    async def add(self, entry: Entry) -> str:
        """A new entry; AlreadyExists when the id is taken."""
        return await self._table.create(_to_entity(entry))

    async def replace(self, entry: Entry, etag: str) -> str:
        """Change an entry read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(entry), etag)
