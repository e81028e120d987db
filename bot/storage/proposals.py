"""Proposals for the next iteration's team, in Table Storage: one row per iteration, with its card."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from ..domain.requests import Address
from ..domain.rotation import RotationWeek
from ..domain.versioned import Stored
from .tables import EntityTable, TableStore


@dataclass(frozen=True)
class Proposal:
    """The team suggested or edited for an iteration, where its card is, and how many alternatives were skipped."""

    week: RotationWeek | None
    skip: int = 0
    address: Address | None = None
    card_id: str = ""
    proposed_by: str = ""
    confirmed_by: str = ""
    reminded: int = 0
    revision: int = 0
    notes: dict = field(default_factory=dict)
    # A confirmation is recorded here first; the week is written after it, and this turns True once it was.
    week_saved: bool = True
    # Pick cards posted by `pick` outside the rotation channel: (address, card id), superseded by the channel's card.
    elsewhere: tuple[tuple[Address, str], ...] = ()


def _week(week: RotationWeek | None) -> str:
    if week is None:
        return ""
    return json.dumps({"start": week.start.isoformat(), "pair": list(week.pair), "fallback": week.fallback,
                       "days": sorted(week.fallback_days), "observer": week.observer, "length": week.length_days})


def _unweek(raw: str) -> RotationWeek | None:
    if not raw:
        return None
    d = json.loads(raw)
    return RotationWeek(date.fromisoformat(d["start"]), tuple(d["pair"]), d.get("fallback"), frozenset(d.get("days", [])),
                        d.get("observer"), d.get("length", 7))


def _address(a: Address) -> list[str]:
    return [a.service_url, a.conversation_id, a.tenant_id, a.channel_id]


class TableProposalRepository:
    """Proposals, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Proposals")

    @staticmethod
    def _entity(start: date, p: Proposal) -> dict:
        a = p.address
        return {
            "PartitionKey": "proposal", "RowKey": start.isoformat(), "Week": _week(p.week), "Skip": p.skip,
            "Address": json.dumps(_address(a)) if a else "",
            "CardId": p.card_id, "ProposedBy": p.proposed_by, "ConfirmedBy": p.confirmed_by, "Reminded": p.reminded,
            "Revision": p.revision, "Notes": json.dumps(p.notes, ensure_ascii=False), "WeekSaved": p.week_saved,
            "Elsewhere": json.dumps([[_address(a), card] for a, card in p.elsewhere]),
        }

    async def get(self, start: date) -> Stored[Proposal] | None:
        """The proposal for the iteration starting on this date."""
        e = await self._table.get("proposal", start.isoformat())
        if not e:
            return None
        address = json.loads(e["Address"]) if e.get("Address") else None
        proposal = Proposal(_unweek(e.get("Week", "")), int(e.get("Skip", 0)), Address(*address) if address else None,
                            e.get("CardId", ""), e.get("ProposedBy", ""), e.get("ConfirmedBy", ""),
                            int(e.get("Reminded", 0)), int(e.get("Revision", 0)), json.loads(e.get("Notes") or "{}"),
                            bool(e.get("WeekSaved", True)),
                            tuple((Address(*a), card) for a, card in json.loads(e.get("Elsewhere") or "[]")))
        return Stored(proposal, e.metadata["etag"])

    async def add(self, start: date, proposal: Proposal) -> str:
        """Create the iteration's proposal; AlreadyExists when there is one."""
        return await self._table.create(self._entity(start, proposal))

    async def replace(self, start: date, proposal: Proposal, etag: str) -> str:
        """Change a proposal read with this ETag."""
        return await self._table.replace(self._entity(start, proposal), etag)
