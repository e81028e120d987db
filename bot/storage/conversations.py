"""Conversation references in Table Storage, so the bot can write proactively."""

from __future__ import annotations

import json

from ..domain.errors import AlreadyExists
from ..domain.address import Address
from . import legacy
from .tables import EntityTable, TableStore, key, unkey


class TableConversationRepository:
    """Where to reach people and channels: serialized conversation references by kind and key."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Conversations")

    async def remember(self, kind: str, ref_key: str, reference: dict) -> bool:
        """Store a reference; True when it was new (the first install), False when it was refreshed."""
        entity = {"PartitionKey": key(kind), "RowKey": key(ref_key), "Reference": json.dumps(reference)}
        try:
            await self._table.create(entity)
            return True
        except AlreadyExists:
            # A reference is a pointer, not shared state: last write wins, no lost update.
            await self._table.upsert(entity)
            return False

    async def get(self, kind: str, ref_key: str) -> dict | None:
        """A stored reference, or None."""
        entity = await self._table.get(kind, ref_key)
        return json.loads(entity["Reference"]) if entity else None

    async def list(self, kind: str) -> dict[str, dict]:
        """Every reference of a kind, by key."""
        rows = self._table.query("PartitionKey eq @p", p=key(kind))
        return {unkey(e["RowKey"]): json.loads(e["Reference"]) async for e in rows}

    async def remember_address(self, kind: str, ref_key: str, address: Address) -> bool:
        """Store where to reach someone or something; True when it was new."""
        return await self.remember(kind, ref_key, {"ref": address.ref, "place": address.place, "thread": address.thread})

    async def address(self, kind: str, ref_key: str) -> Address | None:
        """A stored address (also one stored in an older format), or None."""
        return legacy.address(await self.get(kind, ref_key))

    async def addresses(self, kind: str) -> dict[str, Address]:
        """Every stored address of a kind, by key."""
        return {k: legacy.address(v) for k, v in (await self.list(kind)).items()}
