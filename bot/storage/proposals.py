"""Proposals for the next iteration's team, in Table Storage: one row per iteration, with its card."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from ..domain.address import Address
from ..domain.proposals import Proposal
from ..domain.rotation import RotationWeek
from ..domain.versioned import Stored
from . import legacy
from .tables import EntityTable, TableStore


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


class TableProposalRepository:
    """Proposals, in Table Storage."""

    def __init__(self, store: TableStore) -> None:
        self._table = EntityTable(store, "Proposals")

    @staticmethod
    def _entity(start: date, p: Proposal) -> dict:
        a = p.address
        return {
            "PartitionKey": "proposal", "RowKey": start.isoformat(), "Week": _week(p.week), "Skip": p.skip,
            "Address": a.to_json() if a else "",
            "CardId": p.card_id, "ProposedBy": p.proposed_by, "ConfirmedBy": p.confirmed_by, "Reminded": p.reminded,
            "Revision": p.revision, "Notes": json.dumps(p.notes, ensure_ascii=False), "WeekSaved": p.week_saved,
            "Elsewhere": json.dumps([[a.to_json(), card] for a, card in p.elsewhere]),
        }

    async def get(self, start: date) -> Stored[Proposal] | None:
        """The proposal for the iteration starting on this date."""
        e = await self._table.get("proposal", start.isoformat())
        if not e:
            return None
        proposal = Proposal(_unweek(e.get("Week", "")), int(e.get("Skip", 0)), legacy.address(e.get("Address")),
                            e.get("CardId", ""), e.get("ProposedBy", ""), e.get("ConfirmedBy", ""),
                            int(e.get("Reminded", 0)), int(e.get("Revision", 0)), json.loads(e.get("Notes") or "{}"),
                            bool(e.get("WeekSaved", True)),
                            tuple((legacy.address(a), card) for a, card in json.loads(e.get("Elsewhere") or "[]")))
        return Stored(proposal, e.metadata["etag"])

    async def add(self, start: date, proposal: Proposal) -> str:
        """Create the iteration's proposal; AlreadyExists when there is one."""
        return await self._table.create(self._entity(start, proposal))

    async def replace(self, start: date, proposal: Proposal, etag: str) -> str:
        """Change a proposal read with this ETag."""
        return await self._table.replace(self._entity(start, proposal), etag)
