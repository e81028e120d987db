"""Swaps between members and a lead's edits of members, both checked and audited."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.calendar import TeamCalendar
from ..domain.errors import DomainError
from ..domain.iteration import IterationPolicy
from ..domain.members import Member, Role, weekday_names
from ..core.events import ActionResult, Card, Direct, Text
from ..core.views import MemberView, SwapView
from ..domain.planning import check_team
from ..domain.policy import Action, Facts, may
from ..domain.address import Address
from ..domain.requests import NotAllowed, Person
from ..domain.swaps import Swap, SwapState, check_offer, open_until, swapped
from ..domain.text import format_day
from .changes import change_stored
from .ports import AbsenceRepository, MemberRepository, Messenger, WeekRepository


def find_member(roster: dict[str, Member], name: str) -> Member:
    """The one active member whose name or e-mail starts with the text."""
    needle = name.strip().lower().lstrip("@")
    found = [m for m in roster.values() if m.active and (m.display_name.lower().startswith(needle) or m.email.startswith(needle))]
    if len(found) != 1:
        raise DomainError(f"I found {'nobody' if not found else 'several people'} called {name!r} on the roster.")
    return found[0]


class People:
    """Use cases about people rather than weeks."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository, audit,
                 messenger: Messenger, calendar: TeamCalendar, policy: IterationPolicy, tz: ZoneInfo,
                 clock: Callable[[], datetime], swaps) -> None:
        self._swaps = swaps
        self._members = members
        self._weeks = weeks
        self._absences = absences
        self._audit = audit
        self._messenger = messenger
        self._calendar = calendar
        self._policy = policy
        self._tz = tz
        self._clock = clock

    async def _roster(self) -> dict[str, Member]:
        return {s.value.aad_object_id: s.value for s in await self._members.list()}

    async def ask_swap(self, asker: Person, day: date, whole: bool, other: str, via: Address) -> str:
        """Store the offer of my iteration or my day, and send the other person a card to accept or decline."""
        roster = await self._roster()
        self._require(roster, asker, Action.OFFER_SWAP)
        taker = find_member(roster, other)
        stored = await self._weeks.get(self._policy.containing(day).start)
        if stored is None or asker.aad_object_id not in stored.value.people():
            raise DomainError("You are not on the rotation for that day.")
        week = stored.value
        offered_day = None if whole else day
        check_offer(week, asker.aad_object_id, taker.aad_object_id, offered_day)
        now = self._clock()
        swap = Swap(uuid.uuid4().hex, asker.aad_object_id, asker.name, taker.aad_object_id, taker.display_name,
                    week.start, offered_day, now, open_until(now, week, offered_day, self._tz))
        await self._swaps.add(swap)
        what = swap.what(week.iteration.label())
        card = Card(SwapView(asker.name, f"their duty on {what}" if offered_day else f"their place in {what}",
                             swap.id, swap.revision), summary="Swap request")
        await self._messenger.send(Direct(Person(taker.aad_object_id, taker.display_name), card, via))
        mine = f"your duty on {what}" if offered_day else f"your place in {what}"
        return f"I asked {taker.display_name} to take over {mine}. You'll hear from me when they answer."

    async def answer_swap(self, swap_id: str, who: Person, accept: bool, via: Address) -> ActionResult:
        """Accept (checked against the rules, from the stored offer) or decline; both sides are told."""
        stored = await self._swaps.get(swap_id)
        if stored is None:
            raise DomainError("I can't find that swap offer any more.")
        swap = stored.value
        roster = await self._roster()
        decision = may(who.aad_object_id, Action.ACCEPT_SWAP, Facts(roster, swap_taker=swap.taker))
        if not decision:
            raise NotAllowed(decision.reason)
        giver = Person(swap.giver, swap.giver_name)
        if swap.state is not SwapState.OPEN or self._clock() > swap.open_until:
            swap.answered(accept, self._clock())  # raises SwapClosed with the reason
        if not accept:
            await change_stored(lambda: self._swaps.get(swap_id), self._swaps.replace, lambda s: s.answered(False, self._clock()))
            await self._messenger.send(Direct(giver, Text(f"{who.name} declined your swap request."), via))
            return ActionResult(Card(SwapView(giver.name, swap.what(swap.start.isoformat()), closed="declined")), "", [], True)
        current = await self._weeks.get(swap.start)
        if current is None:
            raise DomainError("That iteration has no confirmed team any more.")
        day = swap.day
        try:
            candidate = swapped(current.value, swap.giver, swap.taker, day)
            if candidate != current.value:
                history = [s.value for s in await self._weeks.between(date(swap.start.year - 3, 1, 1), swap.start)]
                absences = await self._absences.overlapping(candidate.iteration.start, candidate.iteration.end)
                verdict = check_team(candidate, roster, self._calendar, absences, [w for w in history if w.start < swap.start])
                if not verdict.valid:
                    raise DomainError(" ".join(verdict.errors))
        except DomainError as err:
            reason = str(err)
            await self._messenger.send(Direct(giver, Text(f"{who.name} accepted, but the swap would break the rotation, so nothing changed: {reason}"), via))
            raise DomainError(f"The swap would break the rotation, so nothing changed: {reason}") from None
        # The week first (applying it twice changes nothing), then the offer: a retry after a failure completes both.
        await change_stored(lambda: self._weeks.get(swap.start), self._weeks.replace,
                            lambda w: swapped(w, swap.giver, swap.taker, day))
        await change_stored(lambda: self._swaps.get(swap_id), self._swaps.replace,
                            lambda s: s if s.state is SwapState.ACCEPTED else s.answered(True, self._clock()))
        what = format_day(day) if day else candidate.iteration.label()
        await self._audit.record(self._clock(), who.name, f"took over {giver.name}'s duty for {what} (swap)")
        await self._messenger.send(Direct(giver, Text(f"{who.name} accepted: they take over {what}."), via))
        done = Card(SwapView(giver.name, what, closed="accepted, the rotation is updated"))
        return ActionResult(done, "", [Text(f"Done: you take over {what}.")], True)

    async def member_editor(self, lead: Person, name: str) -> Card:
        """A lead's card to edit one member."""
        roster = await self._roster()
        self._require(roster, lead, Action.EDIT_MEMBER)
        return Card(MemberView(find_member(roster, name)), summary="Edit a member")

    @staticmethod
    def _require(roster: dict[str, Member], who: Person, action: Action) -> None:
        decision = may(who.aad_object_id, action, Facts(roster))
        if not decision:
            raise NotAllowed(decision.reason)

    async def edit_member(self, lead: Person, inputs: dict) -> ActionResult:
        """Save production access, working days and role, with the ETag of what was read."""
        roster = await self._roster()
        self._require(roster, lead, Action.EDIT_MEMBER)
        person = str(inputs.get("member") or "")
        try:
            days = frozenset(int(d) for d in str(inputs.get("member_days") or "").split(",") if d.strip())
            role = Role(str(inputs.get("member_role") or "member"))
        except ValueError:
            raise DomainError("That edit doesn't make sense; pick days and a role.") from None
        if not days or not days <= set(range(7)):
            raise DomainError("Pick at least one working day.")
        production = str(inputs.get("member_production")).lower() == "true"

        def edited(m: Member) -> Member:
            return replace(m, production_access=production, working_weekdays=days, role=role)

        updated = await change_stored(lambda: self._members.get(person), self._members.replace, edited)
        await self._audit.record(self._clock(), lead.name, f"set {updated.display_name}: production access {'yes' if production else 'no'}, "
                                 f"working days {', '.join(weekday_names(days))}, role {role.value}")
        return ActionResult(Card(MemberView(updated, saved_by=lead.name)), "", [], True)
