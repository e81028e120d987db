"""Changing the rotation from chat: away, pick, sync roster, swap, member, and the pick, swap and member cards."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from ..core.events import ActionResult, Content, Scope, Text
from ..core.routing import ActionRequest, ActionRouter, CommandRequest, CommandRouter, card_field, card_revision
from ..core.verbs import Verb
from ..domain.dates import parse_range
from ..domain.errors import DomainError
from ..domain.policy import Action
from ..services.channels import require_lead
from ..services.people import People
from ..services.ports import MemberRepository
from ..services.rotation import RotationDesk

PERSONAL = frozenset({Scope.PERSONAL})


def _start(data: dict) -> date:
    try:
        return date.fromisoformat(str(data.get("start")))
    except ValueError:
        raise DomainError("This card is out of date.") from None


class RotationChanges:
    """Absences, the pick, the roster sync, swaps and member edits, each checked by the permission policy."""

    def __init__(self, *, rotation: RotationDesk, people: People, members: MemberRepository, directory, tz: ZoneInfo) -> None:
        self._rotation = rotation
        self._people = people
        self._members = members
        self._directory = directory
        self._tz = tz

    async def away(self, request: CommandRequest) -> list[Content]:
        """Record an absence of my own; it may warn the team if it breaks a confirmed week."""
        if not request.args.strip():
            return [Text("When are you away? For example `away friday`, `away 24.12.–2.1.` or `away 2026-12-24 2027-01-02`.")]
        first, last = parse_range(request.args, request.now.astimezone(self._tz).date())
        return [Text("\n\n".join(await self._rotation.add_absence(request.caller, first, last)))]

    async def pick(self, request: CommandRequest) -> list[Content]:
        """Propose the next pair now instead of waiting for Monday 17:00."""
        if request.address is None:
            return [Text("I can't post a card here.")]
        await self._rotation.pick_now(request.address, request.caller)
        return []

    async def sync(self, request: CommandRequest) -> list[Content]:
        """A lead refreshes the roster from Microsoft 365: newcomers appear, leavers become inactive."""
        await require_lead(self._members, request.caller, Action.SYNC_ROSTER)
        if self._directory is None:
            return [Text("Microsoft 365 is not connected here (TEAM_GROUP_ID is not set).")]
        report = await self._directory.roster()
        parts = [f"added {', '.join(report.added) or 'nobody'}", f"marked inactive {', '.join(report.deactivated) or 'nobody'}"]
        if report.reactivated:
            parts.append(f"back again {', '.join(report.reactivated)}")
        text = "Roster synced: " + "; ".join(parts) + "."
        if report.warnings:
            text += "\n\n" + "\n".join(f"⚠️ {w}" for w in report.warnings)
        return [Text(text)]

    async def swap(self, request: CommandRequest) -> list[Content]:
        """Offer my iteration or one day to someone; they get a card to accept or decline."""
        text = request.args.strip()
        whole = not text.lower().startswith("day ")
        text = text if whole else text[4:]
        when, sep, other = text.partition(" with ")
        if not sep or not other.strip():
            return [Text("Write `swap <date> with <name>` for an iteration, or `swap day <date> with <name>` for one day.")]
        first, _ = parse_range(when, request.now.astimezone(self._tz).date())
        return [Text(await self._people.ask_swap(request.caller, first, whole, other, request.address))]

    async def member(self, request: CommandRequest) -> list[Content]:
        """A lead opens the editor card of one member."""
        if not request.args.strip():
            return [Text("Write `member <name>`.")]
        return [await self._people.member_editor(request.caller, request.args)]

    async def confirm(self, request: ActionRequest) -> ActionResult:
        """Confirm the team on the pick card."""
        return await self._rotation.confirm(_start(request.data), card_revision(request.data), request.caller)

    async def another(self, request: ActionRequest) -> ActionResult:
        """Show the next-best suggestion."""
        return await self._rotation.another(_start(request.data), card_revision(request.data), request.caller)

    async def edit(self, request: ActionRequest) -> ActionResult:
        """Save a team chosen by hand, if it passes the rules."""
        return await self._rotation.edit(_start(request.data), card_revision(request.data), request.caller, request.data)

    async def swap_accept(self, request: ActionRequest) -> ActionResult:
        """The other person accepts; the stored offer is checked against the rules first."""
        return await self._people.answer_swap(card_field(request.data, "swap"), request.caller, True, request.address)

    async def swap_decline(self, request: ActionRequest) -> ActionResult:
        """The other person declines."""
        return await self._people.answer_swap(card_field(request.data, "swap"), request.caller, False, request.address)

    async def member_edit(self, request: ActionRequest) -> ActionResult:
        """Save a lead's edit of a member."""
        return await self._people.edit_member(request.caller, request.data)

    def register(self, commands: CommandRouter, actions: ActionRouter) -> None:
        """Register away, swap, member, pick and sync, and the pick, swap and member cards' buttons."""
        commands.add("away", self.away, usage="away 24.12.–2.1. | away 2026-12-24 2027-01-02 | away friday",
                     summary="record my absence", scopes=PERSONAL)
        commands.add("swap", self.swap, usage="swap 2026-12-09 with Paula | swap day friday with Paula",
                     summary="ask someone to take over my iteration (or one day)", scopes=PERSONAL)
        commands.add("member", self.member, usage="member <name>",
                     summary="edit a member's production access, days and role (leads)", scopes=PERSONAL)
        commands.add("pick", self.pick, summary="post the card to pick the next iteration's pair, here (people on the roster)")
        commands.add("sync", self.sync, usage="sync roster", summary="update the roster from the team's members (leads)",
                     forms=(r"sync roster",))
        for verb, handler in ((Verb.PLAN_CONFIRM, self.confirm), (Verb.PLAN_ANOTHER, self.another), (Verb.PLAN_EDIT, self.edit),
                              (Verb.SWAP_ACCEPT, self.swap_accept), (Verb.SWAP_DECLINE, self.swap_decline),
                              (Verb.MEMBER_EDIT, self.member_edit)):
            actions.add(verb, handler)
