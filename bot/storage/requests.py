"""Support requests in Table Storage: one row per request, keyed by the thread's root message id."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import AsyncIterator

from ..domain.incidents import OpenRequest
from ..domain.requests import Outcome, Person, RequestText, SupportRequest, TicketState
from ..domain.versioned import Stored
from . import legacy
from .tables import EntityTable, TableStore, key, unkey

_PARTITION = "request"


def _person(person: Person | None) -> str:
    return json.dumps([person.aad_object_id, person.name, person.teams_id]) if person else ""


def _unperson(raw: str | None) -> Person | None:
    return Person(*json.loads(raw)) if raw else None


def _time(value: datetime | None) -> str:
    # Always UTC, so that stored strings sort and compare as instants.
    return value.astimezone(timezone.utc).isoformat() if value else ""


def _untime(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


_RECEIVED_BETWEEN = "PartitionKey eq @p and ReceivedAt ge @a and ReceivedAt lt @b"


def _window(first: datetime, last: datetime) -> dict:
    # The parameters of _RECEIVED_BETWEEN.
    return {"p": _PARTITION, "a": _time(first), "b": _time(last)}


def _to_entity(request: SupportRequest) -> dict:
    return {
        "PartitionKey": _PARTITION,
        "RowKey": key(request.id),
        "Address": request.address.to_json(),
        "Requester": _person(request.requester),
        "Text": request.text,
        "ReceivedAt": _time(request.received_at), "TargetAt": _time(request.target_at), "InHours": request.in_hours,
        "AckedAt": _time(request.acked_at), "CardId": request.card_id,
        "ClaimedBy": _person(request.claimed_by), "ClaimedAt": _time(request.claimed_at),
        "FirstResponseBy": _person(request.first_response_by), "FirstResponseAt": _time(request.first_response_at),
        "Outcome": request.outcome.value if request.outcome else "",
        "OutcomeBy": _person(request.outcome_by), "OutcomeAt": _time(request.outcome_at),
        "Detail": json.dumps(request.detail, ensure_ascii=False),
        "Ticket": request.ticket.value, "TicketKey": request.ticket_key, "TicketUrl": request.ticket_url,
        "ResolvedAt": _time(request.resolved_at),
        # Escalations (the highest level) stays for instances of an earlier version during a rolling deployment.
        "Escalations": request.escalations, "EscalatedLevels": legacy.levels_column(request.escalated_levels),
        "Revision": request.revision,
        "Extra": json.dumps(request.extra, ensure_ascii=False),
    }


def _from_entity(e: dict) -> Stored[SupportRequest]:
    request = SupportRequest(
        id=unkey(e["RowKey"]),
        address=legacy.address(e.get("Address") or [e.get("ServiceUrl", ""), e.get("ConversationId", ""),
                                                       e.get("TenantId", ""), e.get("ChannelId", "")]),
        requester=_unperson(e["Requester"]),
        text=e.get("Text", ""),
        received_at=_untime(e["ReceivedAt"]), target_at=_untime(e["TargetAt"]), in_hours=bool(e.get("InHours")),
        acked_at=_untime(e.get("AckedAt")), card_id=e.get("CardId", ""),
        claimed_by=_unperson(e.get("ClaimedBy")), claimed_at=_untime(e.get("ClaimedAt")),
        first_response_by=_unperson(e.get("FirstResponseBy")), first_response_at=_untime(e.get("FirstResponseAt")),
        outcome=Outcome(e["Outcome"]) if e.get("Outcome") else None,
        outcome_by=_unperson(e.get("OutcomeBy")), outcome_at=_untime(e.get("OutcomeAt")),
        detail=json.loads(e.get("Detail") or "{}"),
        ticket=TicketState(e.get("Ticket") or "none"), ticket_key=e.get("TicketKey", ""), ticket_url=e.get("TicketUrl", ""),
        resolved_at=_untime(e.get("ResolvedAt")),
        escalated_levels=legacy.escalated_levels(e), revision=int(e.get("Revision", 0)),
        extra=json.loads(e.get("Extra") or "{}"),
    )
    return Stored(request, e.metadata["etag"])


class TableRequestRepository:
    """Support requests, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Requests")

    async def add(self, request: SupportRequest) -> str:
        """Record a new request; AlreadyExists when Teams delivered the same message twice."""
        return await self._table.create(_to_entity(request))

    async def get(self, request_id: str) -> Stored[SupportRequest] | None:
        """One request, or None."""
        entity = await self._table.get(_PARTITION, request_id)
        return _from_entity(entity) if entity else None

    async def replace(self, request: SupportRequest, etag: str) -> str:
        """Change a request read with this ETag; ConcurrencyError if it changed meanwhile."""
        return await self._table.replace(_to_entity(request), etag)

    async def received_between(self, first: datetime, last: datetime) -> list[SupportRequest]:
        """Requests that arrived in a time window, oldest first (for reports)."""
        rows = self._table.query(_RECEIVED_BETWEEN, **_window(first, last))
        return sorted([_from_entity(e).value async for e in rows], key=lambda r: r.received_at)

    async def texts(self, first: datetime, last: datetime,
                    written_since: datetime | None = None) -> AsyncIterator[RequestText]:
        """The texts of the requests that arrived in a time window, as the pages come in; with `written_since`, only
        of those written (recorded or changed) since then."""
        # Three properties, not the whole request: the month of texts is read with a fraction of the memory, and
        # the rows are handed on page by page rather than gathered first.
        filter_, params = _RECEIVED_BETWEEN, _window(first, last)
        if written_since is not None:
            filter_ += " and Timestamp ge @t"  # set by storage on every write: rows stored late are found too
            params["t"] = written_since.astimezone(timezone.utc)
        async for e in self._table.query(filter_, select=["RowKey", "Text", "ReceivedAt"], **params):
            yield RequestText(unkey(e["RowKey"]), e.get("Text") or "", _untime(e["ReceivedAt"]))

    # The open requests of a channel, for grouping incidents and for escalation digests: one small partition per
    # channel, so finding them is one query however many requests the table holds.

    async def index_open(self, place: str, request: OpenRequest) -> None:
        """Note an open request in its channel's index (written again, it changes nothing)."""
        await self._table.upsert({
            "PartitionKey": key(f"open|{place}"), "RowKey": key(request.id), "Text": request.text[:4000],
            "ReceivedAt": _time(request.received_at), "Requester": request.requester, "Incident": request.incident,
        })

    async def unindex(self, place: str, request_id: str) -> None:
        """Take a resolved request out of its channel's index."""
        await self._table.delete_if_present(f"open|{place}", request_id)

    async def open_in(self, place: str) -> list[OpenRequest]:
        """The open requests of a channel, oldest first."""
        rows = self._table.query("PartitionKey eq @p", p=key(f"open|{place}"))
        found = [OpenRequest(unkey(e["RowKey"]), e.get("Text", ""), _untime(e["ReceivedAt"]), e.get("Requester", ""),
                             e.get("Incident", "")) async for e in rows]
        return sorted(found, key=lambda r: r.received_at)
