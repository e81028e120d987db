"""The weekly cycle: the Monday pick, the Tuesday reminder, the Wednesday handover, and absences."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from cards.rotation import NOBODY, plan_card

from ..domain.errors import AlreadyExists, DomainError
from ..domain.iteration import Iteration, IterationPolicy
from ..domain.jobs import Job
from ..domain.members import Member, weekday_names
from ..domain.messages import Card, Mention, Text
from ..domain.planning import Absence, Suggestion, Verdict, check_team, coverage, suggest
from ..domain.requests import Address, NotAllowed, Person
from ..domain.rotation import RotationWeek
from ..domain.stats import iteration_period, summary_line
from ..storage.proposals import Proposal
from .catalogue import Catalogue
from .changes import apply_click, change_stored
from .channels import chosen_channel, choose_channel
from .jobs import JobRunner
from .ports import AbsenceRepository, ConversationRepository, MemberRepository, Messenger, WeekRepository
from .requests import ActionOutcome
from .stats import period_figures

log = logging.getLogger(__name__)
ROTATION_CHANNEL = ("rotation-channel", "current")
HISTORY_DAYS = 3 * 366
CYCLE_MEMORY_SECONDS = 9 * 24 * 3600
DUTIES = (
    "first response within 5 minutes in #backend (busiest 16:00–18:00)",
    "watch #bugsnag-backend and say \"being handled\"",
    "this week's deployments",
    "Teams notifications on for #backend and #bugsnag-backend",
)


@dataclass(frozen=True)
class CycleTimes:
    """When the steps for picking an iteration's team happen, in the team's time zone."""

    pick: datetime
    remind: datetime
    handover: datetime


def cycle_times(iteration: Iteration, tz: ZoneInfo) -> CycleTimes:
    """Two days before the start at 17:00 (Monday), the day before at 12:00 (Tuesday), the start at 09:00."""
    def at(days_before: int, clock: time) -> datetime:
        return datetime.combine(iteration.start - timedelta(days=days_before), clock, tzinfo=tz)

    return CycleTimes(at(2, time(17)), at(1, time(12)), at(0, time(9)))


def due_cycle_jobs(now: datetime, policy: IterationPolicy, tz: ZoneInfo) -> list[Job]:
    """The cycle jobs that should exist now: upcoming ones, and missed ones that are still useful.

    A pick or reminder missed while the bot was down still runs until the iteration starts (a Monday
    reminder on Tuesday morning), the handover until the end of its first day; never a week later.
    """
    current = policy.at(now, tz)
    jobs = []
    for iteration in (current, current.next()):
        times = cycle_times(iteration, tz)
        start = iteration.start.isoformat()
        useful = {"pick": (times.pick, times.handover), "remind": (times.remind, times.handover),
                  "handover": (times.handover, times.handover + timedelta(hours=15))}
        for step, (due, until) in useful.items():
            if now < until:
                jobs.append(Job(f"cycle|{step}|{start}", f"cycle.{step}", due, {"start": start}, remember_seconds=CYCLE_MEMORY_SECONDS))
    return jobs


class RotationDesk:
    """The weekly pick and handover, absences, and what people ask about the rotation."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository, proposals,
                 audit, conversations: ConversationRepository, jobs: JobRunner, messenger: Messenger,
                 catalogue: Catalogue, policy: IterationPolicy, tz: ZoneInfo, clock: Callable[[], datetime],
                 requests=None, alerts=None, before_pick=None, target_seconds: int = 300) -> None:
        self._members = members
        self._weeks = weeks
        self._absences = absences
        self._proposals = proposals
        self._audit = audit
        self._conversations = conversations
        self._jobs = jobs
        self._messenger = messenger
        self._calendar = catalogue.calendar
        self._policy = policy
        self._tz = tz
        self._clock = clock
        self._requests = requests
        self._alerts = alerts
        self._target_seconds = target_seconds
        self._before_pick = before_pick
        jobs.handles("cycle.pick")(self._pick)
        jobs.handles("cycle.remind")(self._remind)
        jobs.handles("cycle.handover")(self._handover)

    # ------------------------------------------------------------------ scheduling

    async def ensure_cycle(self) -> int:
        """Enqueue the cycle jobs that should exist; enqueuing is idempotent by id, so every instance may call it."""
        added = 0
        for job in due_cycle_jobs(self._clock(), self._policy, self._tz):
            added += await self._jobs.enqueue(job)
        return added

    async def channel(self) -> Address | None:
        """Where the pick card and handover go: the rotation channel, else the team's General channel."""
        chosen = await chosen_channel(self._conversations, ROTATION_CHANNEL)
        if chosen:
            return chosen
        for reference in (await self._conversations.list("team")).values():
            conversation = reference.get("conversation") or {}
            return Address(reference.get("serviceUrl", ""), conversation.get("id", ""), conversation.get("tenantId", ""))
        return None

    async def set_channel(self, address: Address, who: Person) -> None:
        """A lead chooses the channel for the pick and the handover (normally #backend)."""
        await choose_channel(self._conversations, self._members, ROTATION_CHANNEL, address, who, "rotation")
        await self._audit.record(self._clock(), who.name, f"set the rotation channel to {address.channel_id or address.conversation_id}")

    # ------------------------------------------------------------------ planning

    async def _roster(self) -> dict[str, Member]:
        return {s.value.aad_object_id: s.value for s in await self._members.list()}

    async def _context(self, iteration: Iteration) -> tuple[dict[str, Member], list[RotationWeek], list[Absence]]:
        roster = await self._roster()
        history = [s.value for s in await self._weeks.between(iteration.start - timedelta(days=HISTORY_DAYS), iteration.start - timedelta(days=1))]
        absences = await self._absences.overlapping(iteration.start, iteration.end)
        return roster, history, absences

    async def _view(self, iteration: Iteration, proposal: Proposal, confirmed_by: str = "") -> dict:
        roster, history, absences = await self._context(iteration)
        today = self._clock().astimezone(self._tz).date()
        if proposal.week is None:
            found = suggest(iteration, roster, self._calendar, absences, history, today, proposal.skip)
            return plan_card(iteration, None, roster, found.verdict, [], {}, found.why_none, proposal.revision)
        verdict = check_team(proposal.week, roster, self._calendar, absences, history)
        days = coverage(proposal.week, roster, self._calendar, absences)
        reasons = proposal.notes.get("reasons", {})
        return plan_card(iteration, proposal.week, roster, verdict, days, reasons, [], proposal.revision,
                         confirmed_by=confirmed_by or proposal.confirmed_by, warnings_extra=proposal.notes.get("warnings"))

    async def suggestion(self, iteration: Iteration, skip: int = 0) -> Suggestion:
        """The fair suggestion for an iteration (skip>0 for alternatives)."""
        roster, history, absences = await self._context(iteration)
        return suggest(iteration, roster, self._calendar, absences, history, self._clock().astimezone(self._tz).date(), skip)

    def _proposal(self, found: Suggestion, skip: int, **kept) -> Proposal:
        return Proposal(found.week, skip, notes={"reasons": found.reasons, "why_none": found.why_none}, **kept)

    async def pick_now(self, address: Address) -> None:
        """Post the pick card for the next iteration here and now (someone asked for it)."""
        iteration = self._policy.at(self._clock(), self._tz).next()
        stored = await self._proposals.get(iteration.start)
        if stored is not None and stored.value.card_id:
            # A fresh card here; the proposal keeps pointing at the newest card.
            await change_stored(lambda: self._proposals.get(iteration.start),
                                lambda p, etag: self._proposals.replace(iteration.start, p, etag),
                                lambda p: replace(p, card_id=""))
        await self._post_pick(iteration, address)

    async def _pick(self, job: Job) -> None:
        iteration = Iteration(date.fromisoformat(job.payload["start"]), self._policy.length_days)
        channel = await self.channel()
        if channel is None:
            raise DomainError("no channel for the pick card yet; a lead can set one with '@Support Bot rotation here'")
        await self._post_pick(iteration, channel)

    async def _post_pick(self, iteration: Iteration, channel: Address) -> None:
        warnings = []
        if self._before_pick is not None:
            warnings = await self._before_pick()  # Outlook absences, so the suggestion sees them
        stored = await self._proposals.get(iteration.start)
        confirmed = await self._weeks.get(iteration.start)
        if stored is None:
            proposal = self._proposal(await self.suggestion(iteration), 0)
            if confirmed is not None:
                proposal = Proposal(confirmed.value, 0, confirmed_by="(already set)")
            proposal = replace(proposal, notes={**proposal.notes, "warnings": warnings})
            try:
                await self._proposals.add(iteration.start, proposal)
            except AlreadyExists:
                pass
            stored = await self._proposals.get(iteration.start)
        if stored.value.card_id:
            return
        current = await self._weeks.get(self._policy.at(self._clock(), self._tz).start)
        mentions = self._people(current.value.pair if current else (), await self._roster())
        intro = "Time to pick the support pair for the next iteration. " + (
            " ".join(m.tag for m in mentions) + ", please make sure it's confirmed today." if mentions else "Leads, please make sure a pair is picked.")
        await self._messenger.post(channel, Text(intro, tuple(mentions)))
        card_id = await self._messenger.post(channel, Card(await self._view(iteration, stored.value), summary="Pick the next support pair"))
        await change_stored(lambda: self._proposals.get(iteration.start), lambda p, etag: self._proposals.replace(iteration.start, p, etag),
                            lambda p: replace(p, address=channel, card_id=card_id))

    def _people(self, ids, roster: dict[str, Member]) -> list[Mention]:
        return [Mention(p, roster[p].display_name if p in roster else p) for p in ids]

    def _leads(self, roster: dict[str, Member]) -> list[Mention]:
        return [Mention(m.aad_object_id, m.display_name) for m in roster.values() if m.is_lead and m.active]

    async def _remind(self, job: Job) -> None:
        start = date.fromisoformat(job.payload["start"])
        if await self._weeks.get(start) is not None:
            return
        channel = await self.channel()
        if channel is None:
            return
        roster = await self._roster()
        current = await self._weeks.get(self._policy.at(self._clock(), self._tz).start)
        mentions = self._leads(roster) + self._people(current.value.pair if current else (), roster)
        await self._messenger.post(channel, Text(
            "⏰ The next iteration starts tomorrow and nobody is confirmed yet. " + " ".join(m.tag for m in mentions)
            + ", please confirm a pair on the card.", tuple(mentions)))

    async def _handover(self, job: Job) -> None:
        iteration = Iteration(date.fromisoformat(job.payload["start"]), self._policy.length_days)
        channel = await self.channel()
        if channel is None:
            return
        roster = await self._roster()
        stored = await self._weeks.get(iteration.start)
        if stored is None:
            leads = self._leads(roster)
            await self._messenger.post(channel, Text(
                "🚨 **The new iteration started and NO support pair is confirmed.** " + " ".join(m.tag for m in leads)
                + ", please confirm one now: #backend requests are waiting for someone.", tuple(leads)))
            return
        week = stored.value
        mentions = self._people(week.pair, roster)
        lines = [f"Handover for {iteration.label()}: " + " and ".join(m.tag for m in mentions) + " are on support."]
        if week.fallback:
            fallback = self._people([week.fallback], roster)[0]
            mentions.append(fallback)
            lines.append(f"Fallback: {fallback.tag} on {', '.join(d.capitalize() for d in weekday_names(week.fallback_days))}.")
        if week.observer:
            observer = self._people([week.observer], roster)[0]
            mentions.append(observer)
            lines.append(f"Observing: {observer.tag} (first week, watch and ask).")
        lines.append("Your duties:\n" + "\n".join(f"- {duty}" for duty in DUTIES))
        figures = await self._last_iteration_summary(iteration.previous())
        if figures:
            lines.append(figures)
        await self._messenger.post(channel, Text("\n\n".join(lines), tuple(mentions)))

    async def _last_iteration_summary(self, previous: Iteration) -> str:
        # The same figures as `stats last`, so the handover and the card never disagree.
        if self._requests is None:
            return ""
        period = iteration_period(previous, self._tz, "Last iteration")
        figures = await period_figures(period, requests=self._requests, alerts=self._alerts, now=self._clock(), tz=self._tz,
                                      target_seconds=self._target_seconds)
        return summary_line(figures)

    # ------------------------------------------------------------------ clicks on the pick card

    async def _may_confirm(self, who: Person) -> None:
        roster = await self._roster()
        member = roster.get(who.aad_object_id)
        current = await self._weeks.get(self._policy.at(self._clock(), self._tz).start)
        if member is not None and member.is_lead:
            return
        if current is not None and who.aad_object_id in current.value.pair:
            return
        raise NotAllowed("Only the current support pair or a lead can confirm the next pair.")

    async def _may_propose(self, who: Person) -> dict[str, Member]:
        roster = await self._roster()
        if who.aad_object_id not in roster:
            raise NotAllowed("Only people on the roster can propose a pair.")
        return roster

    async def _click(self, start: date, revision: int | None, change) -> tuple[Proposal, bool, str]:
        return await apply_click(lambda: self._proposals.get(start), lambda p, etag: self._proposals.replace(start, p, etag),
                                 revision, change, (DomainError,))

    async def confirm(self, start: date, revision: int | None, who: Person) -> ActionOutcome:
        """Confirm the card's team; exactly one of concurrent confirmations wins."""
        await self._may_confirm(who)
        iteration = Iteration(start, self._policy.length_days)
        stored = await self._proposals.get(start)
        if stored is None or stored.value.week is None:
            raise DomainError("There is no team on this card to confirm.")
        roster, history, absences = await self._context(iteration)
        verdict = check_team(stored.value.week, roster, self._calendar, absences, history)
        if not verdict.valid:
            raise DomainError("This team can't be confirmed: " + " ".join(verdict.errors))

        def confirmed(p: Proposal) -> Proposal:
            if p.confirmed_by:
                raise DomainError(f"{p.confirmed_by} already confirmed it.")
            return replace(p, confirmed_by=who.name, revision=p.revision + 1)

        proposal, changed, note = await self._click(start, revision, confirmed)
        if changed:
            week = proposal.week
            existing = await self._weeks.get(start)
            if existing is None:
                await self._weeks.add(week)
            else:
                await self._weeks.replace(week, existing.etag)
            await self._audit.record(self._clock(), who.name, f"confirmed {_describe(week, roster)} for {iteration.label()}")
        card = await self._view(iteration, proposal)
        mentions = self._people(proposal.week.pair, roster) if changed else []
        replies = [Text("Confirmed: " + " and ".join(m.tag for m in mentions) + f" are on support from {iteration.start:%a %d %b}.", tuple(mentions))] if changed else []
        return ActionOutcome(card, note, replies, changed)

    async def another(self, start: date, revision: int | None, who: Person) -> ActionOutcome:
        """The next-best suggestion."""
        await self._may_propose(who)
        iteration = Iteration(start, self._policy.length_days)
        stored = await self._proposals.get(start)
        skip = (stored.value.skip + 1) if stored else 1
        found = await self.suggestion(iteration, skip)
        if found.week is None:
            raise DomainError(" ".join(found.why_none) or "There is no other valid team.")

        def another_team(p: Proposal) -> Proposal:
            if p.confirmed_by:
                raise DomainError(f"{p.confirmed_by} already confirmed the team.")
            fresh = self._proposal(found, skip, address=p.address, card_id=p.card_id, proposed_by=who.name)
            return replace(fresh, revision=p.revision + 1)

        proposal, changed, note = await self._click(start, revision, another_team)
        return ActionOutcome(await self._view(iteration, proposal), note, [], changed)

    async def edit(self, start: date, revision: int | None, who: Person, inputs: dict) -> ActionOutcome:
        """Choose the team by hand; it is checked against every rule before it replaces the proposal."""
        roster = await self._may_propose(who)
        iteration = Iteration(start, self._policy.length_days)
        first, second = str(inputs.get("plan_first") or ""), str(inputs.get("plan_second") or "")
        fallback = _chosen(inputs.get("plan_fallback"))
        observer = _chosen(inputs.get("plan_observer"))
        try:
            days = frozenset(int(d) for d in str(inputs.get("plan_fallback_days") or "").split(",") if d.strip())
            week = RotationWeek(start, (first, second), fallback if fallback else None, days if fallback else frozenset(),
                                observer, self._policy.length_days)
        except ValueError as err:
            raise DomainError(f"That team doesn't work: {err}.") from None
        unknown = [p for p in week.people() if p not in roster]
        if unknown:
            raise DomainError("Pick people from the roster.")
        roster, history, absences = await self._context(iteration)
        verdict = check_team(week, roster, self._calendar, absences, history)
        if not verdict.valid:
            raise DomainError("Not saved: " + " ".join(verdict.errors))

        def edited(p: Proposal) -> Proposal:
            if p.confirmed_by:
                raise DomainError(f"{p.confirmed_by} already confirmed the team.")
            return replace(p, week=week, proposed_by=who.name, notes={"reasons": {}, "edited_by": who.name}, revision=p.revision + 1)

        proposal, changed, note = await self._click(start, revision, edited)
        if changed:
            await self._audit.record(self._clock(), who.name, f"proposed {_describe(week, roster)} for {iteration.label()}")
        return ActionOutcome(await self._view(iteration, proposal), note, [], changed)

    # ------------------------------------------------------------------ absences

    async def add_absence(self, who: Person, first: date, last: date) -> list[str]:
        """Record my absence; lines for me, plus a warning to the team when it breaks a confirmed week."""
        roster = await self._roster()
        if who.aad_object_id not in roster:
            raise NotAllowed("You are not on the roster, so there is nothing to record.")
        absence = Absence(who.aad_object_id, first, last, "manual")
        await self._absences.add(absence)
        await self._audit.record(self._clock(), who.name, f"is away {first:%d.%m.%Y}–{last:%d.%m.%Y}")
        lines = [f"Noted: you're away {first:%a %d %b %Y} – {last:%a %d %b %Y}."]
        for stored in await self._weeks.between(first - timedelta(days=self._policy.length_days - 1), last):
            week = stored.value
            if who.aad_object_id not in week.people() or week.iteration.end < first:
                continue
            roster_now, history, absences = await self._context(week.iteration)
            verdict = check_team(week, roster_now, self._calendar, absences, history)
            if verdict.valid:
                continue
            lines.append("This breaks the confirmed team of " + week.iteration.label() + ": " + " ".join(verdict.errors))
            await self._warn_team(week, roster_now, verdict, who)
        return lines

    async def _warn_team(self, week: RotationWeek, roster: dict[str, Member], verdict: Verdict, who: Person) -> None:
        channel = await self.channel()
        if channel is None:
            return
        helper = await self._fallback_for(week, roster)
        mentions = self._people(week.pair, roster) + self._leads(roster)
        text = (f"⚠️ {who.name} will be away, and that breaks the team for {week.iteration.label()}: " + " ".join(verdict.errors)
                + (f" Suggested fallback: {roster[helper].display_name}." if helper else " I found no fallback who would fix it.")
                + " " + " ".join(m.tag for m in mentions))
        await self._messenger.post(channel, Text(text, tuple(mentions)))

    async def _fallback_for(self, week: RotationWeek, roster: dict[str, Member]) -> str | None:
        """Someone who, as fallback on every working weekday, makes the week valid again."""
        _, history, absences = await self._context(week.iteration)
        for member in sorted(roster.values(), key=lambda m: m.aad_object_id):
            if not member.active or member.aad_object_id in week.people():
                continue
            candidate = replace(week, fallback=member.aad_object_id, fallback_days=frozenset(range(5)))
            if check_team(candidate, roster, self._calendar, absences, history).valid:
                return member.aad_object_id
        return None


def _chosen(value: object) -> str | None:
    """A person picked on the edit form, or None for "nobody"."""
    text = str(value or "").strip()
    return None if text in ("", NOBODY) else text


def _describe(week: RotationWeek, roster: dict[str, Member]) -> str:
    def name(person: str) -> str:
        return roster[person].display_name if person in roster else person

    text = f"{name(week.pair[0])} and {name(week.pair[1])}"
    if week.fallback:
        text += f", fallback {name(week.fallback)} ({', '.join(weekday_names(week.fallback_days))})"
    if week.observer:
        text += f", observer {name(week.observer)}"
    return text
