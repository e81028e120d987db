"""Alert threads in Table Storage: one row per error key."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ..domain.alerts import Alert, AlertState, AlertThread
from ..domain.requests import Person, TicketState
from ..domain.versioned import Stored
from . import legacy
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "alert"


def _utc(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def _time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _to_entity(thread: AlertThread) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": key(thread.key),
        "Alert": json.dumps(thread.alert.to_dict(), ensure_ascii=False),
        "Events": thread.events,
        "Address": thread.address.to_json() if thread.address else "",
        "CardId": thread.card_id,
        "State": thread.state.value,
        "OpenedAt": _utc(thread.opened_at),
        "LastEventAt": _utc(thread.last_event_at),
        "HandledBy": json.dumps([thread.handled_by.aad_object_id, thread.handled_by.name]) if thread.handled_by else "",
        "HandledAt": _utc(thread.handled_at),
        "Reason": thread.reason,
        "SnoozedUntil": _utc(thread.snoozed_until),
        "Ticket": thread.ticket.value, "TicketKey": thread.ticket_key, "TicketUrl": thread.ticket_url,
        # Escalations (the highest level) stays for instances of an earlier version during a rolling deployment.
        "Escalations": thread.escalations, "EscalatedLevels": legacy.levels_column(thread.escalated_levels),
        "EarlierThread": thread.earlier_thread,
        "Revision": thread.revision,
        "Extra": json.dumps(thread.extra, ensure_ascii=False),
    }


def _from_entity(e: dict) -> Stored[AlertThread]:
    handled = json.loads(e["HandledBy"]) if e.get("HandledBy") else None
    thread = AlertThread(
        key=unkey(e["RowKey"]),
        alert=Alert.from_dict(json.loads(e["Alert"])),
        events=int(e.get("Events", 1)),
        address=legacy.address(e.get("Address")),
        card_id=e.get("CardId", ""),
        state=AlertState(e.get("State", "open")),
        opened_at=_time(e.get("OpenedAt")),
        last_event_at=_time(e.get("LastEventAt")),
        handled_by=Person(*handled) if handled else None,
        handled_at=_time(e.get("HandledAt")),
        reason=e.get("Reason", ""),
        snoozed_until=_time(e.get("SnoozedUntil")),
        ticket=TicketState(e.get("Ticket") or "none"), ticket_key=e.get("TicketKey", ""), ticket_url=e.get("TicketUrl", ""),
        escalated_levels=legacy.escalated_levels(e),
        earlier_thread=e.get("EarlierThread", ""),
        revision=int(e.get("Revision", 0)),
        extra=json.loads(e.get("Extra") or "{}"),
    )
    return Stored(thread, e.metadata["etag"])


class TableAlertRepository:
    """Alert threads, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Alerts")

    async def get(self, thread_key: str) -> Stored[AlertThread] | None:
        """One thread, or None."""
        entity = await self._table.get(_PARTITION, thread_key)
        return _from_entity(entity) if entity else None

    async def add(self, thread: AlertThread) -> str:
        """Claim a new thread for an error; AlreadyExists when another event got there first."""
        return await self._table.create(_to_entity(thread))

    async def replace(self, thread: AlertThread, etag: str) -> str:
        """Change a thread read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(thread), etag)

    async def remove(self, thread: AlertThread, etag: str) -> None:
        """Remove a thread (to start a fresh one for the same error)."""
        await self._table.delete(_PARTITION, thread.key, etag)

    async def opened_between(self, first: datetime, last: datetime) -> list[AlertThread]:
        """Threads opened in a time window [first, last), oldest first (for reports)."""
        # OpenedAt is stored as UTC ISO text, so string order is time order; threads without one never match.
        rows = self._table.query(
            "PartitionKey eq @p and OpenedAt ge @a and OpenedAt lt @b", p=_PARTITION, a=_utc(first), b=_utc(last)
        )
        return sorted([_from_entity(e).value async for e in rows], key=lambda t: t.opened_at)
