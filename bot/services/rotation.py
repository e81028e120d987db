"""The weekly cycle: the Monday pick, the Tuesday reminder, the Wednesday handover, and absences."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.errors import AlreadyExists, ConcurrencyError, DomainError, StorageUnavailable
from ..domain.iteration import Iteration, IterationPolicy
from ..domain.jobs import Job, RetryLater
from ..domain.members import Member, weekday_names
from ..core.events import ActionResult, Card, Mention, Post, Priority, Text, Update
from ..core.views import NOBODY, PlanView, SupersededView
from ..domain.planning import Absence, Suggestion, Verdict, check_team, coverage, suggest
from ..domain.address import Address
from ..domain.requests import NotAllowed, Person
from ..domain.policy import Action, Facts, may
from ..domain.rotation import RotationWeek
from ..domain.stats import iteration_period, summary_line
from ..domain.status import SupportStatus
from ..domain.text import format_day, format_span, join_names
from ..domain.versioned import Stored
from ..domain.proposals import Proposal
from ..domain.catalogue import Catalogue
from .changes import apply_click, change_stored
from .channels import chosen_channel, choose_channel
from .jobs import JobRunner
from .ports import AbsenceRepository, ConversationRepository, MemberRepository, Messenger, WeekRepository
from .stats import period_figures
from .support import SupportLookup

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


MAX_ELSEWHERE = 10
NO_CHANNEL_RETRY_SECONDS = 300
SAVE_PENDING = ("Confirmed, but I could not save the team to the rotation yet (storage trouble). I'll finish it "
                "within minutes on my own, or click Confirm again; until then the card shows it as pending.")


def _tags(mentions: list[Mention]) -> str:
    return join_names(m.tag for m in mentions)


def today_line(status: SupportStatus) -> str:
    """Today's duty in one line, as the who card and the page say it: who is on, who is off, what is missing."""
    duty = status.today
    line = f"Today ({format_day(duty.day)}): {status.names(duty.on_duty) or 'nobody'} on duty"
    if duty.absent:
        line += f"; {status.names(duty.absent)} off"
    if duty.gaps:
        line += f". ⚠️ {join_names(duty.gaps).capitalize()}"
        extra = [p for p in duty.extra if p not in duty.on_duty]
        line += f": {status.names(extra)} paged as well" if extra else ""
    return line + "."


class RotationDesk:
    """The weekly pick and handover, absences, and what people ask about the rotation."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository, proposals,
                 audit, conversations: ConversationRepository, jobs: JobRunner, messenger: Messenger,
                 catalogue: Catalogue, policy: IterationPolicy, tz: ZoneInfo, clock: Callable[[], datetime],
                 lookup: SupportLookup, requests=None, alerts=None, before_pick=None, target_seconds: int = 300) -> None:
        self._lookup = lookup
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
        await self.complete_confirmations()
        return added

    async def channel(self) -> Address | None:
        """Where the pick card and handover go: the rotation channel, else the team's General channel."""
        chosen = await chosen_channel(self._conversations, ROTATION_CHANNEL)
        if chosen:
            return chosen
        for general in (await self._conversations.addresses("team")).values():
            return general
        return None

    async def set_channel(self, address: Address, who: Person) -> None:
        """A lead chooses the channel for the pick and the handover (normally #backend)."""
        await choose_channel(self._conversations, self._members, ROTATION_CHANNEL, address, who, "rotation")
        await self._audit.record(self._clock(), who.name, f"set the rotation channel to {address.place}")

    # ------------------------------------------------------------------ planning

    async def _roster(self) -> dict[str, Member]:
        return {s.value.aad_object_id: s.value for s in await self._members.list()}

    async def _context(self, iteration: Iteration) -> tuple[dict[str, Member], list[RotationWeek], list[Absence]]:
        roster = await self._roster()
        history = [s.value for s in await self._weeks.between(iteration.start - timedelta(days=HISTORY_DAYS), iteration.start - timedelta(days=1))]
        absences = await self._absences.overlapping(iteration.start, iteration.end)
        return roster, history, absences

    async def _view(self, iteration: Iteration, proposal: Proposal, confirmed_by: str = "") -> Card:
        """The pick card of a proposal, as view data."""
        return Card(await self._plan(iteration, proposal, confirmed_by), summary="Pick the next support pair")

    async def _plan(self, iteration: Iteration, proposal: Proposal, confirmed_by: str = "") -> PlanView:
        roster, history, absences = await self._context(iteration)
        today = self._clock().astimezone(self._tz).date()
        if proposal.week is None:
            found = suggest(iteration, roster, self._calendar, absences, history, today, proposal.skip,
                            await self._serving_now(iteration))
            return PlanView(iteration, None, roster, found.verdict, [], {}, found.why_none, proposal.revision)
        verdict = check_team(proposal.week, roster, self._calendar, absences, history)
        days = coverage(proposal.week, roster, self._calendar, absences)
        reasons = proposal.notes.get("reasons", {})
        return PlanView(iteration, proposal.week, roster, verdict, days, reasons, [], proposal.revision,
                        confirmed_by=confirmed_by or proposal.confirmed_by, warnings=list(proposal.notes.get("warnings") or []),
                        saving=bool(proposal.confirmed_by) and not proposal.week_saved)

    async def suggestion(self, iteration: Iteration, skip: int = 0) -> Suggestion:
        """The fair suggestion for an iteration (skip>0 for alternatives)."""
        roster, history, absences = await self._context(iteration)
        return suggest(iteration, roster, self._calendar, absences, history, self._clock().astimezone(self._tz).date(), skip,
                       await self._serving_now(iteration))

    async def _serving_now(self, planned: Iteration) -> frozenset[str]:
        """Who serves in the running iteration (unless that is the one being planned): avoided when others fit."""
        current = self._policy.at(self._clock(), self._tz)
        if current.start == planned.start:
            return frozenset()
        stored = await self._weeks.get(current.start)
        return frozenset(p for p in (*stored.value.pair, stored.value.fallback) if p) if stored else frozenset()

    def _proposal(self, found: Suggestion, skip: int, **kept) -> Proposal:
        return Proposal(found.week, skip, notes={"reasons": found.reasons, "why_none": found.why_none}, **kept)

    async def pick_now(self, address: Address, who: Person) -> None:
        """Post the pick card for the next iteration here and now (someone on the roster asked for it)."""
        self._require(await self._roster(), who, Action.PICK)
        iteration = self._policy.at(self._clock(), self._tz).next()
        channel = await self.channel()
        home = channel is not None and channel.same_place(address)
        await self._post_pick(iteration, channel if home else address, home=home, fresh=True)

    async def _pick(self, job: Job) -> None:
        """Monday 17:00: the card goes to the rotation channel, whatever was posted elsewhere before."""
        iteration = Iteration(date.fromisoformat(job.payload["start"]), self._policy.length_days)
        channel = await self.channel()
        if channel is None:
            if self._clock() >= cycle_times(iteration, self._tz).handover:
                log.warning("no rotation channel was set in time for the pick of %s", iteration.label())
                return
            raise RetryLater("no channel for the pick card yet; a lead can set one with '@Support Bot rotation here'",
                             NO_CHANNEL_RETRY_SECONDS, waiting=True)
        await self._post_pick(iteration, channel, home=True)

    async def _proposal_for(self, iteration: Iteration) -> Stored[Proposal]:
        """The iteration's proposal, made from the fair suggestion (or the team already set) if there is none yet."""
        stored = await self._proposals.get(iteration.start)
        if stored is not None:
            return stored
        warnings = []
        if self._before_pick is not None:
            warnings = await self._before_pick()  # Outlook absences, so the suggestion sees them
        confirmed = await self._weeks.get(iteration.start)
        if confirmed is not None:
            proposal = Proposal(confirmed.value, 0, confirmed_by="(already set)")
        else:
            proposal = self._proposal(await self.suggestion(iteration), 0)
        proposal = replace(proposal, notes={**proposal.notes, "warnings": warnings})
        try:
            await self._proposals.add(iteration.start, proposal)
        except AlreadyExists:
            pass
        return await self._proposals.get(iteration.start)

    async def _post_pick(self, iteration: Iteration, where: Address, *, home: bool, fresh: bool = False) -> None:
        """Post the pick card. In the rotation channel it becomes the team's card (once per Monday, unless someone
        asks for a fresh one there), and cards posted elsewhere by `pick` are marked superseded; elsewhere it is
        one more card on the same proposal."""
        stored = await self._proposal_for(iteration)
        if home and stored.value.card_id and not fresh and stored.value.address and stored.value.address.same_place(where):
            return  # the Monday card is there already (a retried job)
        roster = await self._roster()
        status = await self._lookup.status()
        mentions = self._people([p for p in (status.week.pair if status.week else ()) if status.is_free(p)], roster)
        intro = "Time to pick the support pair for the next iteration. " + (
            f"{_tags(mentions)}, please make sure it's confirmed today." if mentions else "Leads, please make sure a pair is picked.")
        await self._messenger.send(Post(where, Text(intro, tuple(mentions)), Priority.PAGE))
        card_id = await self._messenger.send(Post(where, await self._view(iteration, stored.value), Priority.CARD))
        before = stored.value

        def placed(p: Proposal) -> Proposal:
            if not home:
                return replace(p, elsewhere=(*p.elsewhere, (where, card_id))[-MAX_ELSEWHERE:])
            return replace(p, address=where, card_id=card_id, elsewhere=())

        await change_stored(lambda: self._proposals.get(iteration.start),
                            lambda p, etag: self._proposals.replace(iteration.start, p, etag), placed)
        if home:
            link = self._messenger.link(where, card_id)
            superseded = [*before.elsewhere]
            if before.card_id and before.address and (before.address, before.card_id) != (where, card_id):
                superseded.append((before.address, before.card_id))
            for address, old_card in superseded:
                try:
                    await self._messenger.send(Update(address, old_card, Card(SupersededView(iteration, link))))
                except DomainError as err:
                    log.warning("could not mark an earlier pick card as superseded: %s", err)

    def _people(self, ids, roster: dict[str, Member]) -> list[Mention]:
        return [Mention(p, roster[p].display_name if p in roster else p) for p in ids]

    def _leads(self, roster: dict[str, Member]) -> list[Mention]:
        return [Mention(m.aad_object_id, m.display_name) for m in roster.values() if m.is_lead and m.active]

    async def _remind(self, job: Job) -> None:
        start = date.fromisoformat(job.payload["start"])
        await self.complete_confirmations()
        if await self._weeks.get(start) is not None:
            return
        channel = await self.channel()
        if channel is None:
            return
        status = await self._lookup.status()
        # Nobody who is away (or left) is mentioned; whoever of the leads and the current pair is in today is.
        people = [*status.available_leads(), *(p for p in (status.week.pair if status.week else ()) if status.is_free(p))]
        mentions = self._people(list(dict.fromkeys(people)), dict(status.members))
        await self._messenger.send(Post(channel, Text(
            f"⏰ The next iteration starts tomorrow and nobody is confirmed yet. {_tags(mentions)}, please confirm "
            "a pair on the card.", tuple(mentions)), Priority.PAGE))

    async def _handover(self, job: Job) -> None:
        iteration = Iteration(date.fromisoformat(job.payload["start"]), self._policy.length_days)
        channel = await self.channel()
        if channel is None:
            return
        await self.complete_confirmations()
        roster = await self._roster()
        stored = await self._weeks.get(iteration.start)
        if stored is None:
            leads = self._leads(roster)
            await self._messenger.send(Post(channel, Text(
                f"🚨 **The new iteration started and NO support pair is confirmed.** {_tags(leads) or 'Leads'}, please "
                "confirm one now: #backend requests are waiting for someone.", tuple(leads)), Priority.PAGE))
            return
        week = stored.value
        mentions = self._people(week.pair, roster)
        lines = [f"Handover for {iteration.label()}: {_tags(mentions)} are on support."]
        if week.fallback:
            fallback = self._people([week.fallback], roster)[0]
            mentions.append(fallback)
            lines.append(f"Fallback: {fallback.tag} on {', '.join(d.capitalize() for d in weekday_names(week.fallback_days))}.")
        if week.observer:
            observer = self._people([week.observer], roster)[0]
            mentions.append(observer)
            lines.append(f"Observing: {observer.tag} (first week, watch and ask).")
        status = await self._lookup.status()
        if status.week == week and status.today is not None:
            lines.append(today_line(status))
        lines.append("Your duties:\n" + "\n".join(f"- {duty}" for duty in DUTIES))
        figures = await self._last_iteration_summary(iteration.previous())
        if figures:
            lines.append(figures)
        await self._messenger.send(Post(channel, Text("\n\n".join(lines), tuple(mentions)), Priority.PAGE))

    async def _last_iteration_summary(self, previous: Iteration) -> str:
        # The same figures as `stats last`, so the handover and the card never disagree.
        if self._requests is None:
            return ""
        period = iteration_period(previous, self._tz, "Last iteration")
        figures = await period_figures(period, requests=self._requests, alerts=self._alerts, now=self._clock(), tz=self._tz,
                                      target_seconds=self._target_seconds)
        return summary_line(figures)

    # ------------------------------------------------------------------ clicks on the pick card

    @staticmethod
    def _require(roster: dict[str, Member], who: Person, action: Action, week: RotationWeek | None = None) -> None:
        decision = may(who.aad_object_id, action, Facts(roster, week))
        if not decision:
            raise NotAllowed(decision.reason)

    async def _may_confirm(self, who: Person) -> dict[str, Member]:
        roster = await self._roster()
        current = await self._weeks.get(self._policy.at(self._clock(), self._tz).start)
        self._require(roster, who, Action.CONFIRM_TEAM, current.value if current else None)
        return roster

    async def _may_propose(self, who: Person) -> dict[str, Member]:
        roster = await self._roster()
        self._require(roster, who, Action.PROPOSE)
        return roster

    async def _click(self, start: date, revision: int | None, change) -> tuple[Proposal, bool, str]:
        return await apply_click(lambda: self._proposals.get(start), lambda p, etag: self._proposals.replace(start, p, etag),
                                 revision, change, (DomainError,))

    async def confirm(self, start: date, revision: int | None, who: Person) -> ActionResult:
        """Confirm the card's team, all or nothing: the confirmation is recorded on the proposal first, then
        the week is written; if that write fails, any later click, the next cycle run or the handover completes it."""
        roster = await self._may_confirm(who)
        iteration = Iteration(start, self._policy.length_days)
        stored = await self._proposals.get(start)
        if stored is None or stored.value.week is None:
            raise DomainError("There is no team on this card to confirm.")
        if stored.value.confirmed_by:
            # Confirmed already; if the week was not saved then, this click completes it.
            saved = await self._save_week(start)
            proposal = saved or stored.value
            note = f"{proposal.confirmed_by} already confirmed it." if saved else SAVE_PENDING
            completed = saved is not None and not stored.value.week_saved
            return ActionResult(await self._view(iteration, proposal), note, [], completed)
        _, history, absences = await self._context(iteration)
        verdict = check_team(stored.value.week, roster, self._calendar, absences, history)
        if not verdict.valid:
            raise DomainError("This team can't be confirmed: " + " ".join(verdict.errors))

        def confirmed(p: Proposal) -> Proposal:
            if p.confirmed_by:
                raise DomainError(f"{p.confirmed_by} already confirmed it.")
            return replace(p, confirmed_by=who.name, week_saved=False, revision=p.revision + 1)

        proposal, changed, note = await self._click(start, revision, confirmed)
        replies = []
        if changed:
            saved = await self._save_week(start)
            if saved is None:
                note = SAVE_PENDING
            else:
                proposal = saved
                await self._audit.record(self._clock(), who.name, f"confirmed {_describe(proposal.week, roster)} for {iteration.label()}")
                mentions = self._people(proposal.week.pair, roster)
                replies = [Text(f"Confirmed: {_tags(mentions)} are on support from {format_day(iteration.start)}.", tuple(mentions))]
        return ActionResult(await self._view(iteration, proposal), note, replies, changed)

    async def _save_week(self, start: date) -> Proposal | None:
        """Write a confirmed proposal's week and mark it saved; idempotent. None when storage failed (retry later)."""
        try:
            stored = await self._proposals.get(start)
            if stored is None or not stored.value.confirmed_by or stored.value.week_saved:
                return stored.value if stored else None
            week = stored.value.week
            try:
                await self._weeks.add(week)
            except AlreadyExists:
                await change_stored(lambda: self._weeks.get(start), self._weeks.replace, lambda _: week)
            return await change_stored(lambda: self._proposals.get(start),
                                       lambda p, etag: self._proposals.replace(start, p, etag),
                                       lambda p: replace(p, week_saved=True))
        except (StorageUnavailable, ConcurrencyError) as err:
            log.warning("the confirmed team of %s is not saved yet: %s", start, err)
            return None

    async def complete_confirmations(self) -> None:
        """Finish confirmations whose week was not written (a failure between the two writes)."""
        current = self._policy.at(self._clock(), self._tz)
        for iteration in (current, current.next()):
            await self._save_week(iteration.start)

    async def another(self, start: date, revision: int | None, who: Person) -> ActionResult:
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
        return ActionResult(await self._view(iteration, proposal), note, [], changed)

    async def edit(self, start: date, revision: int | None, who: Person, inputs: dict) -> ActionResult:
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
        return ActionResult(await self._view(iteration, proposal), note, [], changed)

    # ------------------------------------------------------------------ absences

    async def add_absence(self, who: Person, first: date, last: date) -> list[str]:
        """Record my absence; lines for me, plus a warning to the team when it breaks a confirmed week."""
        roster = await self._roster()
        self._require(roster, who, Action.AWAY)
        absence = Absence(who.aad_object_id, first, last, "manual")
        await self._absences.add(absence)
        await self._audit.record(self._clock(), who.name, f"is away {format_span(first, last)}")
        lines = [f"Noted: you're away {format_span(first, last)}."]
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
        mentions = self._people(week.pair, roster)
        mentions += [m for m in self._leads(roster) if m.id not in {p.id for p in mentions}]
        text = (f"⚠️ {who.name} will be away, and that breaks the team for {week.iteration.label()}: " + " ".join(verdict.errors)
                + (f" Suggested fallback: {roster[helper].display_name}." if helper else " I found no fallback who would fix it.")
                + f" {_tags(mentions)}")
        await self._messenger.send(Post(channel, Text(text, tuple(mentions)), Priority.PAGE))

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
