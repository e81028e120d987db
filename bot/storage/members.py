"""Members in Table Storage: one row per person, keyed by Entra object id."""

from __future__ import annotations

from datetime import date

from ..domain.members import Member, Role
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "member"


def _to_entity(member: Member) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": key(member.aad_object_id),
        "DisplayName": member.display_name,
        "Email": member.email,
        "ProductionAccess": member.production_access,
        "WorkingWeekdays": ",".join(str(d) for d in sorted(member.working_weekdays)),
        "Joined": member.joined.isoformat() if member.joined else "",
        "ObserverDone": member.observer_done,
        "Role": member.role.value,
        "Active": member.active,
    }


def _from_entity(entity: dict) -> Stored[Member]:
    weekdays = entity.get("WorkingWeekdays", "")
    member = Member(
        aad_object_id=unkey(entity["RowKey"]),
        display_name=entity.get("DisplayName", ""),
        email=entity.get("Email", ""),
        production_access=bool(entity.get("ProductionAccess", False)),
        working_weekdays=frozenset(int(d) for d in weekdays.split(",") if d != ""),
        joined=date.fromisoformat(entity["Joined"]) if entity.get("Joined") else None,
        observer_done=bool(entity.get("ObserverDone", False)),
        role=Role(entity.get("Role", "member")),
        active=bool(entity.get("Active", True)),
    )
    return Stored(member, entity.metadata["etag"])


class TableMemberRepository:
    """The roster, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Members")

    async def get(self, aad_object_id: str) -> Stored[Member] | None:
        """One member, or None."""
        entity = await self._table.get(_PARTITION, aad_object_id)
        return _from_entity(entity) if entity else None

    async def list(self) -> list[Stored[Member]]:
        """Every member, sorted by display name."""
        rows = [_from_entity(e) async for e in self._table.query("PartitionKey eq @p", p=_PARTITION)]
        return sorted(rows, key=lambda s: (s.value.display_name.lower(), s.value.aad_object_id))

    async def add(self, member: Member) -> str:
        """Add a new member; AlreadyExists if the id is taken."""
        return await self._table.create(_to_entity(member))

    async def replace(self, member: Member, etag: str) -> str:
        """Change a member read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(member), etag)
