"""Roster import and export: the YAML file against the stored members and weeks."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.members import Member
from ..domain.rotation import RotationWeek
from .ports import MemberRepository, WeekRepository
from .roster_file import RosterDocument


@dataclass
class ImportReport:
    """What an import changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        """One line for people."""
        return f"{len(self.added)} added, {len(self.updated)} updated, {self.unchanged} unchanged"


async def _sync(repo, items, ident, label, report: ImportReport) -> None:
    for item in items:
        current = await repo.get(ident(item))
        if current is None:
            await repo.add(item)
            report.added.append(label(item))
        elif current.value != item:
            await repo.replace(item, current.etag)
            report.updated.append(label(item))
        else:
            report.unchanged += 1


async def import_roster(document: RosterDocument, members: MemberRepository, weeks: WeekRepository) -> ImportReport:
    """Write a validated roster: add what is new, change what differs, leave the rest; repeatable."""
    report = ImportReport()
    await _sync(members, document.members, lambda m: m.aad_object_id, lambda m: f"member {m.email}", report)
    await _sync(weeks, document.weeks, lambda w: w.start, lambda w: f"week {w.start.isoformat()}", report)
    return report


async def export_roster(members: MemberRepository, weeks: WeekRepository) -> RosterDocument:
    """Everything stored, as a roster document."""
    stored_members: list[Member] = [s.value for s in await members.list()]
    stored_weeks: list[RotationWeek] = [s.value for s in await weeks.list()]
    return RosterDocument(stored_members, stored_weeks)
