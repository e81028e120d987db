"""The roster and absences from Microsoft 365: team members from the team's group, absences from Outlook's automatic replies.

Graph failures never escape: they come back as warnings a person can read. Storage errors do escape, as
everywhere else, because nothing here can do better than the caller.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Callable, Protocol

from ..domain.errors import AlreadyExists, ConcurrencyError, DomainError
from ..domain.members import Member, Role
from ..domain.planning import Absence
from ..integrations.graph import AutoReplies, GraphError, GraphForbidden, GraphSignInFailed, GraphUnavailable, GraphUser
from .ports import AbsenceRepository, MemberRepository

log = logging.getLogger(__name__)

OUTLOOK = "outlook"
# Automatic replies without an end date say "away now", not "away until": the bot counts the next 7 days
# (today included) and moves the window on at every import, so the absence ends a week after the replies do.
ALWAYS_ENABLED_DAYS = 7
# A roster write that loses a race re-reads the member and tries again this often.
WRITE_ATTEMPTS = 3


class Directory(Protocol):
    """The part of the Graph client these use cases need; tests may fake it."""

    async def team_members(self, group_id: str) -> list[GraphUser]: ...
    async def automatic_replies(self, user_id: str) -> AutoReplies: ...


@dataclass
class SyncReport:
    """What a roster sync changed, by display name, and what it could not do."""

    added: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class AbsenceImport:
    """How many Outlook absences were recorded or withdrawn, and whose automatic replies could not be read."""

    added: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)


# --- Roster ------------------------------------------------------------------------------------------------


async def sync_roster(graph: Directory, members: MemberRepository, group_id: str, today: date) -> SyncReport:
    """Add the team's new members as not yet served, mark leavers inactive and returners active; change nothing else."""
    report = SyncReport()
    try:
        people = await graph.team_members(group_id)
    except GraphError as error:
        report.warnings.append(f"Could not read the team's members from Microsoft Graph: {error}")
        return report
    if not people:
        # A team's group always holds its owners; an empty list means Graph misread, and acting on it would deactivate everyone.
        report.warnings.append("Microsoft Graph listed no members for the team; the roster was left unchanged")
        return report
    in_team = {person.id: person for person in people}
    roster = {stored.value.aad_object_id: stored.value for stored in await members.list()}
    for person in people:
        if person.id not in roster and await _add(members, newcomer(person, today)):
            report.added.append(person.display_name)
    for person_id, member in roster.items():
        wanted = person_id in in_team
        if member.active == wanted:
            continue
        try:
            changed = await _set_active(members, person_id, wanted)
        except ConcurrencyError:
            report.warnings.append(f"Could not mark {member.display_name} {'active' if wanted else 'inactive'}: "
                                   "their roster entry kept changing; run the sync again")
            continue
        if changed:
            (report.reactivated if wanted else report.deactivated).append(member.display_name)
    return report


def newcomer(person: GraphUser, today: date) -> Member:
    """A person new to the roster: an ordinary member, not yet served, without production access."""
    return Member(
        aad_object_id=person.id,
        display_name=person.display_name,
        email=person.email,
        production_access=False,
        joined=today,
        observer_done=False,
        role=Role.MEMBER,
        active=True,
    )


async def _add(members: MemberRepository, member: Member) -> bool:
    try:
        await members.add(member)
    except AlreadyExists:
        # Someone added them meanwhile (a lead, or a second sync); their row wins.
        return False
    return True


async def _set_active(members: MemberRepository, person_id: str, active: bool) -> bool:
    # Only `active` changes; everything else is re-read so a lead's concurrent edit is never overwritten.
    for _ in range(WRITE_ATTEMPTS):
        stored = await members.get(person_id)
        if stored is None or stored.value.active == active:
            return False
        try:
            await members.replace(dataclasses.replace(stored.value, active=active), stored.etag)
        except ConcurrencyError:
            continue
        return True
    raise ConcurrencyError(f"the roster entry {person_id} kept changing")


# --- Absences ----------------------------------------------------------------------------------------------


async def import_outlook_absences(
    graph: Directory, members: MemberRepository, absences: AbsenceRepository, tz: tzinfo, today: date
) -> AbsenceImport:
    """Record each active member's Outlook absence; withdraw Outlook absences that Outlook no longer shows."""
    report = AbsenceImport()
    active = [stored.value for stored in await members.list() if stored.value.active]
    for index, member in enumerate(active):
        try:
            replies = await graph.automatic_replies(member.aad_object_id)
        except GraphForbidden as error:
            report.warnings.append(f"Could not read Outlook absences for {member.display_name}: {error}")
            continue
        except GraphError as error:
            report.warnings.append(_stopped(member, error, len(active) - index - 1))
            if _affects_everyone(error):
                break
            continue
        wanted = outlook_absence(member.aad_object_id, replies, tz, today)
        added, removed = await _reconcile(absences, member.aad_object_id, wanted, today)
        report.added += added
        report.removed += removed
    return report


def _affects_everyone(error: GraphError) -> bool:
    # After an outage or a failed sign-in every further call would fail too, each after its own retries;
    # a refusal for one mailbox (403) or one user (404, odd data) leaves the others worth asking.
    return isinstance(error, (GraphUnavailable, GraphSignInFailed))


def _stopped(member: Member, error: GraphError, remaining: int) -> str:
    text = f"Could not read Outlook absences for {member.display_name}: {error}"
    if _affects_everyone(error) and remaining:
        text += f"; skipped the {remaining} member{'s' if remaining != 1 else ''} after them"
    return text


def outlook_absence(person: str, replies: AutoReplies, tz: tzinfo, today: date) -> Absence | None:
    """The absence automatic replies announce, in the team's days; None when they announce none from today on."""
    if replies.status == "alwaysEnabled":
        return Absence(person, today, today + timedelta(days=ALWAYS_ENABLED_DAYS - 1), OUTLOOK)
    if replies.status != "scheduled" or replies.start is None or replies.end is None:
        return None
    first = replies.start.astimezone(tz).date()
    end = replies.end.astimezone(tz)
    # Outlook ends a day off at the next midnight; that midnight's day is not part of the absence.
    last = end.date() - timedelta(days=1) if end.time() == time(0) else end.date()
    if last < first or last < today:
        return None
    return Absence(person, first, last, OUTLOOK)


async def _reconcile(absences: AbsenceRepository, person: str, wanted: Absence | None, today: date) -> tuple[int, int]:
    # Outlook is the truth from today on; days already past stay as they were recorded.
    # Adding first means the person never looks present in between.
    added = int(wanted is not None and await absences.add(wanted))
    removed = 0
    for stale in await absences.of(person):
        if stale.source != OUTLOOK or stale.last < today or stale == wanted:
            continue
        if stale.first < today:
            await absences.add(Absence(person, stale.first, today - timedelta(days=1), OUTLOOK))
        await absences.remove(stale)
        removed += 1
    return added, removed


# --- Wiring ------------------------------------------------------------------------------------------------


@dataclass
class DirectorySync:
    """The team's directory for the rest of the bot: a lead's `sync roster`, and the weekly run before the pick."""

    graph: Directory
    members: MemberRepository
    absences: AbsenceRepository
    group_id: str
    tz: tzinfo
    clock: Callable[[], datetime]

    def _today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    async def roster(self) -> SyncReport:
        """Sync the roster from the team's members."""
        return await sync_roster(self.graph, self.members, self.group_id, self._today())

    async def before_pick(self) -> list[str]:
        """The weekly sync and Outlook import before the Monday suggestion; their problems become card warnings."""
        warnings: list[str] = []
        try:
            warnings += (await self.roster()).warnings
            warnings += (await import_outlook_absences(self.graph, self.members, self.absences, self.tz, self._today())).warnings
        except DomainError as err:
            # A storage or Graph failure must never stop the pick card; it shows up on it instead.
            warnings.append(f"Could not sync with Microsoft 365: {err}")
        return warnings
