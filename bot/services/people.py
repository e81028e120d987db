"""Swaps between members and a lead's edits of members, both checked and audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

from cards.people import member_card, swap_card

from ..domain.calendar import TeamCalendar
from ..domain.errors import DomainError
from ..domain.iteration import IterationPolicy
from ..domain.members import Member, Role, weekday_names
from ..domain.messages import Card, Text
from ..domain.planning import Absence, check_team
from ..domain.requests import Address, NotAllowed, Person
from ..domain.rotation import RotationWeek
from .changes import change_stored
from .ports import AbsenceRepository, MemberRepository, Messenger, WeekRepository
from .requests import ActionOutcome


def find_member(roster: dict[str, Member], name: str) -> Member:
    """The one active member whose name or e-mail starts with the text."""
    needle = name.strip().lower().lstrip("@")
    found = [m for m in roster.values() if m.active and (m.display_name.lower().startswith(needle) or m.email.startswith(needle))]
    if len(found) != 1:
        raise DomainError(f"I found {'nobody' if not found else 'several people'} called {name!r} on the roster.")
    return found[0]


def swapped(week: RotationWeek, giver: str, taker: str, day: date | None) -> RotationWeek:
    """The week with the taker in the giver's place: for the whole iteration, or as fallback on one day."""
    try:
        if day is not None:
            return replace(week, fallback=taker, fallback_days=frozenset({day.weekday()}))
        pair = tuple(taker if p == giver else p for p in week.pair)
        fallback = taker if week.fallback == giver else week.fallback
        if pair == week.pair and fallback == week.fallback:
            raise DomainError("You are not serving in that iteration.")
        if fallback == taker and taker in pair:
            fallback = None  # the fallback moves up into the pair
        return replace(week, pair=pair, fallback=fallback, fallback_days=week.fallback_days if fallback else frozenset())
    except ValueError as err:
        raise DomainError(f"{str(err).capitalize()}.") from None


class People:
    """Use cases about people rather than weeks."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository, audit,
                 messenger: Messenger, calendar: TeamCalendar, policy: IterationPolicy, tz: ZoneInfo,
                 clock: Callable[[], datetime]) -> None:
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
        """Send the other person a card to accept or decline taking over my iteration or my day."""
        roster = await self._roster()
        taker = find_member(roster, other)
        stored = await self._weeks.get(self._policy.containing(day).start)
        if stored is None or asker.aad_object_id not in stored.value.people():
            raise DomainError("You are not on the rotation for that day.")
        if taker.aad_object_id == asker.aad_object_id:
            raise DomainError("That's you.")
        week = stored.value
        what = f"your place in {week.iteration.label()}" if whole else f"your duty on {day:%a %d %b}"
        data = {"start": week.start.isoformat(), "giver": asker.aad_object_id, "giver_name": asker.name,
                "taker": taker.aad_object_id, "day": "" if whole else day.isoformat()}
        card = swap_card(asker.name, what.replace("your", "their"), data)
        await self._messenger.direct(Person(taker.aad_object_id, taker.display_name), Card(card, summary="Swap request"), via)
        return f"I asked {taker.display_name} to take over {what}. You'll hear from me when they answer."

    async def answer_swap(self, data: dict, who: Person, accept: bool, via: Address) -> ActionOutcome:
        """Accept (checked against the rules) or decline; both sides are told."""
        if who.aad_object_id != data.get("taker"):
            raise NotAllowed("This swap request is for someone else.")
        giver = Person(str(data.get("giver")), str(data.get("giver_name") or "your colleague"))
        start = date.fromisoformat(str(data.get("start")))
        day = date.fromisoformat(data["day"]) if data.get("day") else None
        if not accept:
            await self._messenger.direct(giver, Text(f"{who.name} declined your swap request."), via)
            return ActionOutcome(swap_card(giver.name, "declined", {}) | {"actions": []}, "", [], True)
        roster = await self._roster()
        history = [s.value for s in await self._weeks.between(date(start.year - 3, 1, 1), start)]
        current = await self._weeks.get(start)
        if current is None:
            raise DomainError("That iteration has no confirmed team any more.")
        try:
            candidate = swapped(current.value, giver.aad_object_id, who.aad_object_id, day)
            absences = await self._absences.overlapping(candidate.iteration.start, candidate.iteration.end)
            if day is not None:
                absences.append(Absence(giver.aad_object_id, day, day))
            verdict = check_team(candidate, roster, self._calendar, absences, [w for w in history if w.start < start])
            if not verdict.valid:
                raise DomainError(" ".join(verdict.errors))
        except DomainError as err:
            reason = str(err)
            await self._messenger.direct(giver, Text(f"{who.name} accepted, but the swap would break the rotation, so nothing changed: {reason}"), via)
            raise DomainError(f"The swap would break the rotation, so nothing changed: {reason}") from None
        await change_stored(lambda: self._weeks.get(start), self._weeks.replace, lambda w: swapped(w, giver.aad_object_id, who.aad_object_id, day))
        if day is not None:
            await self._absences.add(Absence(giver.aad_object_id, day, day))
        what = f"{day:%a %d %b}" if day else candidate.iteration.label()
        await self._audit.record(self._clock(), who.name, f"took over {giver.name}'s duty for {what} (swap)")
        await self._messenger.direct(giver, Text(f"{who.name} accepted: they take over {what}."), via)
        done = swap_card(giver.name, f"{what} — accepted, the rotation is updated", {})
        done.pop("actions", None)
        return ActionOutcome(done, "", [Text(f"Done: you take over {what}.")], True)

    async def member_editor(self, lead: Person, name: str) -> Card:
        """A lead's card to edit one member."""
        roster = await self._roster()
        self._require_lead(roster, lead)
        return Card(member_card(find_member(roster, name)), summary="Edit a member")

    def _require_lead(self, roster: dict[str, Member], who: Person) -> None:
        member = roster.get(who.aad_object_id)
        if member is None or not member.is_lead:
            raise NotAllowed("Only a lead can change members.")

    async def edit_member(self, lead: Person, inputs: dict) -> ActionOutcome:
        """Save production access, working days and role, with the ETag of what was read."""
        roster = await self._roster()
        self._require_lead(roster, lead)
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
        return ActionOutcome(member_card(updated, saved_by=lead.name), "", [], True)
