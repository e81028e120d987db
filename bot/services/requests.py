"""The #backend desk: open a request, page the pair, watch the first-response clock, claim and triage."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from ..core.events import ActionResult, Card, Content, Direct, Mention, Post, Priority, Text, Update
from ..core.views import RequestView
from ..domain.address import Address
from ..domain.catalogue import Catalogue
from ..domain.errors import AlreadyExists, DeliveryFailed, DomainError, NotFound, StorageUnavailable
from ..domain.handbook import HandbookError, new_entry, parse_keywords
from ..domain.incidents import OpenRequest, incident_for, suggestions as incident_suggestions
from ..domain.jobs import Job, RetryLater
from ..domain.requests import (
    AlreadyAsked,
    AlreadyClaimed,
    AlreadyTriaged,
    NotAllowed,
    Outcome,
    Person,
    SupportRequest,
    TicketState,
    confirm_db,
    refuse_db,
    state_summary,
)
from ..domain.policy import Action, may
from ..domain.status import SupportStatus
from ..domain.text import format_clock, format_when, join_names, shorten
from .handbook import Handbook
from .incidents import OpenRequests
from .recent import RecentRequests
from .direct_pages import DirectPages, page_item
from .changes import STALE_CARD, apply_click, change_stored
from .jobs import JobRunner, PreparedJob
from .ports import Messenger, RequestRepository
from .support import SupportLookup
from .tickets import JiraRejected, file_once, wait_for_earlier_attempt
from .triage import TriageResult, decide, from_handbook

log = logging.getLogger(__name__)
# Teams redelivers a message it got no answer for within seconds; a day of memory is plenty.
REDELIVERY_WINDOW_SECONDS = 24 * 3600
# "Recurring" means: like at least this many requests of the last RECURRING_DAYS days (the newest
# bot.services.recent.LIMIT of them, kept in memory).
RECURRING_MIN = 2
RECURRING_DAYS = 30
# Escalations of one channel that fall due within the same DIGEST_SECONDS go out as one message, sent
# DIGEST_SETTLE_SECONDS after that window closes (room for the last escalation's write to land): a deadline is
# late by at most their sum, and a burst of requests, whose deadlines fall within seconds, gets one message.
DIGEST_SECONDS = 3
DIGEST_SETTLE_SECONDS = 1
# The ticket job is queued just before the triage is written; this long it waits for that write to land.
TRIAGE_LANDING_SECONDS = 60
# A request that arrived while Table Storage was down is recorded (and paged) once storage is back, if that is
# within this long; the requester is told to page directly when no page appears by then.
RECORD_RETRY_SECONDS = 120
RECORD_RETRY_MAX_PAUSE = 3.0  # storage may be back only briefly (a restart between two outages)
# A 1:1 leaves its id behind this long once sent, so a paging job that runs again (Teams refused the card, a
# crash) queues it as a duplicate instead of sending it twice; longer than JOB_GIVE_UP_SECONDS' default (6 h).
DIRECT_MEMORY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Opened:
    """A request just stored: what to acknowledge, its paging job to start after that, whom it paged, its incident."""

    request: SupportRequest
    paging: PreparedJob
    ack: Text
    paged: list[str]
    incident: str = ""

    def start(self, acked_at: datetime | None) -> None:
        """Start paging (in the background), telling the job what the acknowledgement already did (None: the job
        posts the acknowledgement itself)."""
        done = {"acked_at": acked_at.isoformat(), "paged": self.paged} if acked_at else {}
        self.paging.start(incident=self.incident, **done)


@dataclass(frozen=True)
class Timings:
    """When the first-response clock escalates, in working seconds after arrival."""

    target_seconds: int = 300
    lead_seconds: int = 600


def _mention(person: Person) -> Mention:
    return Mention(person.mention_id, person.name)


def _mentions(status: SupportStatus, people) -> tuple[Mention, ...]:
    return tuple(Mention(p, status.name(p)) for p in people)


def _tags(mentions) -> str:
    return join_names(m.tag for m in mentions)


def direct_job(job_id: str, person: Person, text: str, via: Address, due: datetime, about: str = "") -> Job:
    """A 1:1 message as a job of its own: it never waits on a channel post, and a refusal stops only it.

    `about` is the request whose thread hears about it when Teams refuses the 1:1 for good. Once sent, its id is
    remembered (a tombstone), so queueing it again sends nothing.
    """
    return Job(job_id, "request.direct", due, {"person": [person.aad_object_id, person.name, person.teams_id],
                                              "text": text, "via": via.to_json(), "about": about},
               remember_seconds=DIRECT_MEMORY_SECONDS)


def stale_click(request: SupportRequest, revision: int | None) -> bool:
    """True when a click came from a card older than the stored request (cards without a revision never are)."""
    return revision is not None and revision != request.revision


class RequestDesk:
    """Use cases of the #backend flow; Teams, Table Storage and Jira stay behind ports."""

    def __init__(self, *, requests: RequestRepository, lookup: SupportLookup | None, jobs: JobRunner,
                 messenger: Messenger, catalogue: Catalogue, tz: ZoneInfo, clock: Callable[[], datetime],
                 timings: Timings, tickets=None, ticket_retry_seconds: float = 60.0,
                 handbook: Handbook | None = None) -> None:
        self._requests = requests
        self._open = OpenRequests(requests, clock)
        self._recent = RecentRequests(requests, clock, days=RECURRING_DAYS)
        self._lookup = lookup
        self._jobs = jobs
        self._messenger = messenger
        self.catalogue = catalogue
        self._tz = tz
        self._clock = clock
        self._timings = timings
        self._tickets = tickets
        self._ticket_retry = ticket_retry_seconds
        self.handbook = handbook
        self._pages = DirectPages(jobs=jobs, messenger=messenger, tz=tz, clock=clock,
                                  unreachable=self._unreachable_later)
        jobs.handles("request.page")(self._page)
        jobs.handles("request.escalate")(self._escalate)
        jobs.handles("request.digest")(self._digest)
        jobs.handles("request.repage")(self._repage)
        jobs.handles("request.share")(self._share)
        jobs.handles("request.direct")(self._direct)
        jobs.handles("request.unreachable")(self._unreachable)
        jobs.handles("request.ticket")(self._file_ticket)

    # ------------------------------------------------------------------ arrival

    def acknowledgement(self, request: SupportRequest, status: SupportStatus) -> tuple[Text, list[str]]:
        """The acknowledgement, which is also the page: thanks the requester, mentions today's duty (with the
        fallback or leads when a gap needs them, or the leads when nobody is on the rotation), the observer, and
        gives the target as a clock time. Also who was paged."""
        who = _mention(request.requester)
        paged = list(status.paged())
        mentions = [who, *_mentions(status, paged)]
        minutes = round(self._timings.target_seconds / 60)
        if status.week is None:
            whom = f"Nobody is on the support rotation right now, so I've paged the leads: {_tags(mentions[1:]) or 'nobody is in'}."
        else:
            whom = f"I've paged support: {_tags(mentions[1:])}." if paged else \
                "Nobody of this iteration's support team is in today."
        if request.in_hours:
            text = (f"Thanks {who.tag}! {whom} First response target: **{format_clock(request.target_at, self._tz)}** "
                    f"({minutes} min).")
        else:
            text = (f"Thanks {who.tag}! It's outside working hours ({self.catalogue.calendar.describe()}), so support may "
                    f"not answer right away. {whom} First response target: **{format_when(request.target_at, self._tz)}**.")
        duty = status.today if status.week else None
        if duty and duty.fallback_covering:
            text += f" ({status.name(status.week.fallback)} covers today as fallback.)"
        if duty and duty.gaps:
            away = f"{status.names(duty.absent)} {'is' if len(duty.absent) == 1 else 'are'} off today, so " if duty.absent else "Today "
            extra = [p for p in duty.extra if p not in duty.on_duty]
            text += f" ⚠️ {away}{join_names(duty.gaps)}" + (f"; {status.names(extra)} paged as well." if extra else
                                                              "; nobody else is free to page.")
        if duty and duty.observer:
            observer = Mention(duty.observer, status.name(duty.observer))
            mentions.append(observer)
            text += f" Observing: {observer.tag}."
        return Text(text, tuple(mentions)), paged

    async def grouped_acknowledgement(self, request: SupportRequest, root: OpenRequest) -> Text:
        """The acknowledgement of a request grouped into an incident: the first thread, who is on it, since when."""
        who = _mention(request.requester)
        stored = await self._requests.get(root.id)
        link = self._messenger.link(request.address, root.id)
        first = f"[{root.requester or 'an earlier'}'s request from {format_clock(root.received_at, self._tz)}]({link})"
        state = "support was paged for it"
        if stored is not None:
            r = stored.value
            if r.claimed_by:
                state = f"{r.claimed_by.name} is on it since {format_clock(r.claimed_at, self._tz)}"
            elif r.first_response_by:
                state = f"{r.first_response_by.name} answered it at {format_clock(r.first_response_at, self._tz)}"
            elif r.extra.get("paged"):
                paged = r.extra["paged"]
                state = f"{join_names(paged.get('names', [])) or 'support'} {'was' if len(paged.get('names', [])) == 1 else 'were'} " \
                        f"paged at {format_clock(datetime.fromisoformat(paged['at']), self._tz)}"
        return Text(f"Thanks {who.tag}! This looks like the same problem as {first}: {state}. I've added yours to it, "
                    "so you'll get the answer here too.", (who,))

    async def open(self, *, message_id: str, address: Address, requester: Person, text: str,
                   received_at: datetime) -> Opened | None:
        """Store the request's paging job, which carries the request (one write), and say what to acknowledge;
        None for a redelivery.

        The job is the durable record from here on: it writes the request row before it pages anyone, so nothing
        is lost if this instance dies after the acknowledgement. Who is on duty (cached for the day) and the
        channel's open requests are read while the job is written, so the acknowledgement waits for one round trip.
        """
        calendar = self.catalogue.calendar
        request = SupportRequest(
            id=message_id, address=address, requester=requester, text=text, received_at=received_at,
            target_at=calendar.add_working_seconds(received_at, self._timings.target_seconds),
            in_hours=calendar.is_working_time(received_at),
        )
        job = Job(f"page|{request.id}", "request.page", received_at, {"request": request.id, "opening": request.opening()},
                  remember_seconds=REDELIVERY_WINDOW_SECONDS)
        status, nearby, prepared = await asyncio.gather(self._status(), self._open.in_channel(address.place),
                                                        self._jobs.prepare(job))
        if prepared is None:
            return None
        root = incident_for(text, received_at, [r for r in nearby if r.id != request.id])
        if root is not None:
            request = request.grouped_under(root.id)
            self._open.remember(address.place, request.open_request())
            return Opened(request, prepared, await self.grouped_acknowledgement(request, root), [], root.id)
        self._open.remember(address.place, request.open_request())
        ack, paged = self.acknowledgement(request, status)
        return Opened(request, prepared, ack, paged, "")

    def record_later(self, *, message_id: str, address: Address, requester: Person, text: str,
                     received_at: datetime) -> None:
        """A request that could not be stored (Table Storage down): keep trying in the background for
        RECORD_RETRY_SECONDS; once stored, its paging job posts the acknowledgement, which pages."""
        facts = {"message_id": message_id, "address": address, "requester": requester, "text": text,
                 "received_at": received_at}
        self._jobs.background(self._record_when_back(facts))

    async def _record_when_back(self, facts: dict) -> None:
        waited, pause = 0.0, 1.0
        while waited < RECORD_RETRY_SECONDS:
            await asyncio.sleep(pause)
            waited += pause
            try:
                opened = await self.open(**facts)
            except StorageUnavailable:
                pause = min(pause * 2, RECORD_RETRY_MAX_PAUSE)
                continue
            if opened is None:
                return  # an earlier delivery stored it: that paging job pages
            opened.start(None)
            log.info("a request that arrived while storage was down is recorded now; paging")
            return
        log.warning("could not record request %s within %d s; the requester was told to page directly",
                    facts["message_id"], RECORD_RETRY_SECONDS)

    async def _status(self, fresh: bool = False) -> SupportStatus:
        """Who is on duty: for paging and escalations the lookup's short cache will do; rights need `fresh`."""
        return await self._lookup.status(cached=not fresh)

    def card(self, request: SupportRequest, notice: str = "") -> Card:
        """The triage card for a request as it is now (view data; the adapter renders it), with a notice for the
        one person whose click changed nothing."""
        entries = tuple(self.handbook.titles()) if self.handbook else ()
        link = self._messenger.link(request.address, request.id)
        others = [g["id"] for g in request.grouped()] + [a["id"] for a in request.extra.get("alike", [])]
        others += [request.incident] if request.incident else []
        links = {other: self._messenger.link(request.address, other) for other in others}
        return Card(RequestView(request, self.catalogue, self._tz, link, entries, links, notice), summary="Support request")

    async def _recorded(self, job: Job) -> SupportRequest:
        """The request row, written from the job's opening facts (with what the acknowledgement did) the first time."""
        stored = await self._requests.get(job.payload["request"])
        if stored is not None:
            return stored.value
        request = SupportRequest.from_opening(job.payload["opening"])
        if job.payload.get("incident"):
            request = request.grouped_under(job.payload["incident"])
        if job.payload.get("acked_at"):
            status = await self._status()
            acked = datetime.fromisoformat(job.payload["acked_at"])
            request = request.acknowledged(acked)
            if not request.incident:
                request = request.paged([status.name(p) for p in job.payload.get("paged", [])], acked)
        try:
            await self._requests.add(request)
        except AlreadyExists:
            return (await self._requests.get(request.id)).value
        self._recent.add(request)
        return request

    async def _page(self, job: Job) -> None:
        """Page, resumably: each step is idempotent and recorded as it completes, so a retry continues.

        Before anyone responds a request costs two channel messages: the acknowledgement that pages, then the
        triage card; one grouped into an incident costs its acknowledgement only.
        """
        request = await self._recorded(job)
        if request.incident:
            if request.acked_at is None:
                await self._acknowledge_grouped(request)
            await self._join(request, request.incident)
            return
        await self._open.add(request.address.place, request.open_request())
        status = await self._status()
        # The clock and the 1:1s first: they must not wait on (or fail with) the channel posts below.
        await self._watch(request, status, job.first_attempt or self._clock())
        if request.acked_at is None:
            # This instance (or another, which crashed) may not have acknowledged it: better twice than never.
            ack, paged = self.acknowledgement(request, status)
            await self._messenger.send(Post(request.address, ack, Priority.ACKNOWLEDGEMENT))
            now = self._clock()
            request = await self._change(request.id, lambda r: r.acknowledged(now).paged([status.name(p) for p in paged], now))
        if not request.card_id:
            suggestions, recurrence = await self.hints(request)
            nearby = [r for r in await self._open.in_channel(request.address.place) if r.id != request.id]
            alike = [{"id": r.id, "name": r.requester, "at": r.received_at.isoformat(), "text": shorten(r.text, 80)}
                     for r in incident_suggestions(request.text, request.received_at, nearby)]
            request = request.with_hints(suggestions, recurrence).noting(alike=alike)
            card_id = await self._messenger.send(Post(request.address, self.card(request), Priority.CARD))
            await self._change(request.id, lambda r: r.with_card(card_id).with_hints(suggestions, recurrence).noting(alike=alike))

    async def _watch(self, request: SupportRequest, status: SupportStatus, since: datetime) -> None:
        """Queue the channel's escalation digests for the request's two deadlines, and put it on a 1:1 page to
        everyone paged; both are no-ops when repeated (`since`: when this paging job first ran)."""
        for level in (1, 2):
            await self._queue_digest(request, level)
        page = page_item(request.id, request.requester.name, request.received_at, request.text,
                         self._messenger.link(request.address, request.id))
        for aad in status.paged():
            person = Person(aad, status.name(aad))
            await self._pages.add([person.aad_object_id, person.name, person.teams_id], request.address.to_json(),
                                  page, since)

    async def hints(self, request: SupportRequest) -> tuple[list[dict], dict | None]:
        """Handbook entries that answer the request, else earlier requests like it; nothing when storage fails.

        The card must go out even when the handbook cannot be read: suggestions are a help, not a step.
        """
        if self.handbook is None:
            return [], None
        try:
            found = await self.handbook.suggest(request.text)
            if found:
                return [{"id": e.id, "title": e.title, "score": round(s.score), "preview": shorten(e.solution, 200)} for s, e in found], None
            since = request.received_at - timedelta(days=RECURRING_DAYS)
            matches = await self._recent.like(request.text, since, request.received_at, exclude=request.id)
        except StorageUnavailable as err:
            log.warning("no handbook hints for %s: %s", request.id, err)
            return [], None
        if len(matches) < RECURRING_MIN:
            return [], None
        return [], {"count": len(matches) + 1, "since": min(r.received_at for r in matches).isoformat(),
                    "examples": [shorten(r.text, 140) for r in matches[-3:]]}

    async def _direct(self, job: Job) -> None:
        aad, name, *teams = job.payload["person"]
        person = Person(aad, name, teams[0] if teams else "")
        try:
            await self._messenger.send(Direct(person, Text(job.payload["text"]), Address.from_json(job.payload["via"])))
        except DeliveryFailed as err:
            # Permanent (the app is not installed for them, the chat is gone): one line, and the rest goes on.
            log.warning("1:1 not delivered: %s", err)
            if job.payload.get("about"):
                await self._unreachable_later(job.payload["about"], aad, name, err)

    async def _unreachable_later(self, request_id: str, aad: str, name: str, err: DeliveryFailed) -> None:
        await self._jobs.enqueue(Job(f"unreachable|{request_id}|{aad}", "request.unreachable", self._clock(),
                                     {"request": request_id, "name": name, "why": err.code or "refused"},
                                     remember_seconds=DIRECT_MEMORY_SECONDS))

    async def _unreachable(self, job: Job) -> None:
        """Tell the thread that someone paged could not be reached 1:1, so the others make sure they see it."""
        stored = await self._requests.get(job.payload["request"])
        if stored is None or not stored.value.clock_running:
            return
        name, why = job.payload["name"], job.payload["why"]
        await self._messenger.send(Post(stored.value.address, Text(
            f"ℹ️ I couldn't reach {name} 1:1 (Teams said {why}; the app may not be installed for them). "
            f"{name}, please keep an eye on this thread."), Priority.PAGE))

    # ------------------------------------------------------------------ the clock

    async def _escalate(self, job: Job) -> None:
        """A request's deadline passed (a job queued by an earlier version, which queued one per request and level):
        the channel's digest for it does the rest."""
        stored = await self._requests.get(job.payload["request"])
        if stored is not None and stored.value.needs_escalation(int(job.payload["level"])):
            await self._queue_digest(stored.value, int(job.payload["level"]))

    async def _queue_digest(self, request: SupportRequest, level: int) -> None:
        """Make sure the channel's digest for the window of this request's deadline runs after it: one job per
        channel, level and window, shared by every request whose deadline falls in it (an add that finds it there
        costs one round trip), so several requests waiting in one channel get one message that lists them.

        The window is the deadline's, not the clock's: an escalation queued late (its request was stored late,
        after a crash) goes out at once instead of waiting for another window; if that window's digest is going
        out right now, it may have read the channel before this request, so the next window's digest follows it.
        """
        place = request.address.place
        bucket = int(self._deadline(request, level).timestamp() // DIGEST_SECONDS) + 1
        while True:
            digest = f"digest|{place}|{level}|{bucket}"
            # One lane per channel: its digests go out in deadline order (⏰ before 🚨 when both are late).
            due = datetime.fromtimestamp(bucket * DIGEST_SECONDS + DIGEST_SETTLE_SECONDS, timezone.utc)
            queued = await self._jobs.enqueue(Job(digest, "request.digest", due, {
                "place": place, "level": level, "address": request.address.top().to_json(), "lane": f"digests|{place}"}))
            if queued or due > self._clock() or not await self._jobs.is_running(digest):
                return
            bucket += 1

    def _deadline(self, request: SupportRequest, level: int) -> datetime:
        if level == 1:
            return request.target_at
        return self._deadline_of(request.received_at, level)

    def _deadline_of(self, received_at: datetime, level: int) -> datetime:
        seconds = self._timings.target_seconds if level == 1 else self._timings.lead_seconds
        return self.catalogue.calendar.add_working_seconds(received_at, seconds)

    async def _digest(self, job: Job) -> None:
        """Escalate every request of a channel whose deadline of this level passed without a first response."""
        level, now = int(job.payload["level"]), self._clock()
        waiting = []
        for open_request in await self._open.in_channel(job.payload["place"]):
            if open_request.incident or self._deadline_of(open_request.received_at, level) > now:
                continue  # grouped into an incident, or not due yet: no need to read it
            stored = await self._requests.get(open_request.id)
            if stored is not None and stored.value.needs_escalation(level) and self._deadline(stored.value, level) <= now:
                waiting.append(stored.value)
        if not waiting:
            return
        status = await self._status()
        minutes = round((self._timings.target_seconds if level == 1 else self._timings.lead_seconds) / 60)
        if level == 1:
            people = list(status.paged())  # the leads, when nobody is on the rotation
            fallback = status.week.fallback if status.week else None
            if fallback and fallback not in people and status.is_free(fallback):
                people.append(fallback)
            mentions = _mentions(status, people)
            who, ask = _tags(mentions) or "Support", "please take a look"
        else:
            mentions = _mentions(status, status.available_leads())
            who, ask = _tags(mentions) or "Leads (none of you is in today)", "please find someone"
        mark = "⏰" if level == 1 else "🚨"
        if len(waiting) == 1:
            request = waiting[0]
            text = (f"{mark} {minutes} min and no response yet to {request.requester.name}'s request. {who}, {ask}."
                    if level == 1 else f"{mark} {minutes} min without a first response. {who}, {ask} for this request.")
            where = request.address
        else:
            items = "\n".join(f"- [{r.requester.name}, {format_clock(r.received_at, self._tz)}: {shorten(r.text, 80)}]"
                               f"({self._messenger.link(r.address, r.id)})" for r in waiting)
            text = f"{mark} {len(waiting)} requests have had no response for {minutes} min:\n\n{items}\n\n{who}, {ask}."
            where = Address.from_json(job.payload["address"])
        await self._messenger.send(Post(where, Text(text, mentions), Priority.PAGE))
        for request in waiting:
            updated = await self._change(request.id, lambda r: r.escalated(level))
            await self._refresh_card(updated)

    async def _refresh_card(self, request: SupportRequest) -> None:
        if self.handbook:
            await self.handbook.ensure_loaded()
        if request.card_id:
            try:
                await self._messenger.send(Update(request.address, request.card_id, self.card(request)))
            except DomainError as err:
                log.warning("could not update the card of %s: %s", request.id, err)

    async def _change(self, request_id: str, change: Callable[[SupportRequest], SupportRequest]) -> SupportRequest:
        """Read, change and write back with the ETag; on a race, read again and re-apply."""
        return await change_stored(lambda: self._requests.get(request_id), self._requests.replace, change)

    # ------------------------------------------------------------------ people acting

    async def _allowed(self, who: Person, request_id: str | None = None, action: Action = Action.HANDLE) -> SupportStatus:
        """The permission policy, from the stored week, roster and request (its claimer keeps rights until resolved)."""
        status = await self._status(fresh=True)
        stored = await self._requests.get(request_id) if request_id else None
        claimer = stored.value.claimed_by.aad_object_id if stored and stored.value.claimed_by else ""
        facts = status.facts(claimer, bool(stored and stored.value.resolved))
        decision = may(who.aad_object_id, action, facts)
        if not decision:
            raise NotAllowed(decision.reason)
        return status

    async def _act(self, request_id: str, revision: int | None, who: Person,
                   change: Callable[[SupportRequest], SupportRequest]) -> tuple[SupportRequest, bool, str]:
        """Apply a click if the card was current; the claim race's losers learn who won."""
        if self.handbook:
            await self.handbook.ensure_loaded()  # the card it answers with lists the entries
        request, changed, note = await apply_click(
            lambda: self._requests.get(request_id), self._requests.replace, revision, change,
            (AlreadyClaimed, AlreadyTriaged, AlreadyAsked)
        )
        if note == STALE_CARD and request.outcome and request.outcome_by:
            note = f"{request.outcome_by.name} already triaged this as {request.outcome.label}."
        elif note == STALE_CARD and request.claimed_by:
            note = f"{request.claimed_by.name} is on it."
        if changed and request.resolved:
            await self._resolved(request)
        return request, changed, note

    async def _resolved(self, request: SupportRequest) -> None:
        """A resolved request leaves its channel's open requests (no incident joins it, no digest lists it)."""
        try:
            await self._open.remove(request.address.place, request.id)
        except StorageUnavailable as err:
            log.warning("could not take %s out of the open requests: %s", request.id, err)

    async def claim(self, request_id: str, revision: int | None, who: Person) -> ActionResult:
        """I'm on it: exactly one claim wins; the others see who won."""
        await self._allowed(who, request_id)
        request, changed, note = await self._act(request_id, revision, who, lambda r: r.claim(who, self._clock()))
        replies = [Text(f"{_mention(who).tag} is on it.", (_mention(who),))] if changed else []
        return ActionResult(self.card(request), note, replies, changed)

    async def triage(self, request_id: str, revision: int | None, who: Person, outcome: Outcome, inputs: dict) -> ActionResult:
        """Record an outcome from the card's form and post what it says."""
        await self._allowed(who, request_id)
        return await self._triaged(request_id, revision, who, outcome, lambda r: decide(outcome, r, inputs, self.catalogue, who))

    async def send_answer(self, request_id: str, revision: int | None, who: Person, entry_id: str) -> ActionResult:
        """Send this answer: post a handbook entry to the requester, recorded as documented with the entry used."""
        await self._allowed(who, request_id)
        if self.handbook is None:
            raise DomainError("The handbook is not available here.")
        entry = await self.handbook.get(entry_id)
        result = await self._triaged(request_id, revision, who, Outcome.DOCUMENTED, lambda r: from_handbook(r, entry))
        if result.changed:
            await self.handbook.count_use(entry.id)
        return result

    async def _triaged(self, request_id: str, revision: int | None, who: Person, outcome: Outcome,
                       decider: Callable[[SupportRequest], TriageResult]) -> ActionResult:
        now = self._clock()
        decided: list[TriageResult] = []

        def change(r: SupportRequest) -> SupportRequest:
            # Decided only once the card is known to be current, so stale forms are never validated.
            result = decider(r)
            decided[:] = [result]
            triaged = r.triage(outcome, who, now, result.detail, resolved=result.resolved)
            if result.file_ticket and self._tickets is not None:
                return triaged.ticket_pending()
            return triaged

        if outcome is Outcome.BUG and self._tickets is not None:
            # The stored request, never the card's data, says whether this click can still win: one on an outdated
            # card files nothing, so it must not leave a ticket job waiting for a triage that is never written.
            stored = await self._requests.get(request_id)
            if stored is None:
                raise NotFound("I can't find that request any more.")
            if stale_click(stored.value, revision) or stored.value.outcome is not None:
                return self._unchanged(stored.value, revision, "")
            # Queued before the triage is written, so a failure between the two never strands a pending ticket.
            await self._jobs.enqueue(Job(f"ticket|{request_id}", "request.ticket", now,
                                         {"request": request_id, "revision": stored.value.revision}))
        request, changed, note = await self._act(request_id, revision, who, change)
        if not changed:
            return self._unchanged(request, revision, note)
        result = decided[0]
        for person, reply in result.direct:
            await self._jobs.enqueue(direct_job(f"direct|{request.id}|{person.aad_object_id}|{outcome.value}", person,
                                                reply.text, request.address, now))
        replies = list(result.replies)
        if result.file_ticket and self._tickets is None:
            replies.append(Text("Jira is not configured here, so no ticket was filed; please file it by hand."))
        return ActionResult(self.card(request), "", replies, True)

    def _unchanged(self, request: SupportRequest, revision: int | None, note: str) -> ActionResult:
        """A triage click that changed nothing: the current card, saying at its top why (what its form said is lost)."""
        if request.outcome is not None:
            by = request.outcome_by.name if request.outcome_by else "Someone"
            note = f"{by} already triaged this as {request.outcome.label}, so nothing else was recorded or filed."
        elif stale_click(request, revision):
            now = f" ({request.claimed_by.name} is on it now)" if request.claimed_by else ""
            note = (f"This card was out of date{now}, so nothing was recorded or filed. This is the current card: "
                    "choose the outcome again if it still applies.")
        return ActionResult(self.card(request, notice=note), note)

    async def ask_team(self, request_id: str, who: Person) -> ActionResult:
        """Ask the team: mention the configured team (or the leads) in the thread; no clock stops."""
        status = await self._allowed(who, request_id)
        request, changed, note = await self._act(request_id, None, who, lambda r: r.ask_team(who, self._clock()))
        if not changed:
            return ActionResult(self.card(request), note)
        ask = self.catalogue.ask_team
        if ask.tag_id:
            mentions = [Mention(ask.tag_id, ask.tag_name, tag_mention=True)]
        elif ask.people:
            mentions = [Mention(p.aad_object_id, p.name) for p in ask.people]
        else:
            mentions = [Mention(m.aad_object_id, m.display_name) for m in status.leads()]
        summary = shorten(request.text, 300)
        text = (_tags(mentions) or "Team") + f": {who.name} from support is asking for help with " \
               f"{request.requester.name}'s request: “{summary}”. If you know the answer, please reply in this thread."
        return ActionResult(self.card(request), "", [Text("🗣 " + text, tuple(mentions))], True)

    async def add_to_handbook(self, request_id: str, who: Person, inputs: dict) -> ActionResult:
        """Save the card's handbook form as a new entry, made from this request."""
        await self._allowed(who, None, Action.ADD_TO_HANDBOOK)
        if self.handbook is None:
            raise DomainError("The handbook is not available here.")
        existing = str(inputs.get("hb_existing") or "").strip()
        if existing:
            return await self._link_to_entry(request_id, who, existing, parse_keywords(str(inputs.get("hb_keywords") or "")))
        entry = new_entry(str(inputs.get("hb_title") or ""), str(inputs.get("hb_keywords") or ""),
                          str(inputs.get("hb_solution") or ""), str(inputs.get("hb_links") or ""), who.name, self._clock())
        await self.handbook.add(entry)
        request, _, _ = await self._act(request_id, None, who, lambda r: r.added_to_handbook(entry.id, entry.title, who))
        reply = Text(f"📘 {who.name} added “{entry.title}” to the handbook; the next request like this one will get it suggested.")
        return ActionResult(self.card(request), "", [reply], True)

    async def confirm_override(self, request_id: str, revision: int | None, who: Person) -> ActionResult:
        """The four-eyes confirmation of a database override."""
        await self._allowed(who, request_id)
        # Production access is part of the policy; a refusal comes back as a private note, the card stays.
        try:
            await self._allowed(who, request_id, Action.CONFIRM_OVERRIDE)
            has_production = True
        except NotAllowed:
            has_production = False
        # NotAllowed propagates: the clicker gets a private note and the card stays as it was.
        request, changed, note = await self._act(request_id, revision, who, lambda r: confirm_db(r, who, has_production, self._clock()))
        replies = [Text(f"{who.name} confirmed the database override as the second person. Record kept on the card.")] if changed else []
        return ActionResult(self.card(request), note, replies, changed)

    async def refuse_override(self, request_id: str, revision: int | None, who: Person) -> ActionResult:
        """Turn a pending override approval into a refusal."""
        await self._allowed(who, request_id)
        request, changed, note = await self._act(request_id, revision, who, lambda r: refuse_db(r, who, self._clock()))
        replies = [Text(f"{who.name} refused the database override. {request.detail.get('suggestion', '')}")] if changed else []
        return ActionResult(self.card(request), note, replies, changed)

    async def thread_message(self, request_id: str, who: Person, text: str, mentioned: bool, at: datetime) -> list[Content] | None:
        """A message in a request's thread, mentioned or not; None when the thread is not a request's.

        From support (the pair, the fallback, a lead, or whoever claimed it) it is the first response and stops
        the clock. From the requester or anyone else it is a follow-up, recorded on the request; a mention gets
        the request's state, and nobody is paged again. Someone outside support who answers before support
        does is thanked privately and asked to help the pair answer; the clock keeps running.
        """
        stored = await self._requests.get(request_id)
        if stored is None:
            return None
        request = stored.value
        status = await self._status(fresh=True)
        claimer = request.claimed_by.aad_object_id if request.claimed_by else ""
        if may(who.aad_object_id, Action.RESPOND, status.facts(claimer, request.resolved)):
            if request.clock_running:
                updated = await self._change(request_id, lambda r: r.responded(who, at))
                await self._refresh_card(updated)
            return []
        outsider = who.aad_object_id != request.requester.aad_object_id and bool(who.aad_object_id)
        thank = outsider and request.clock_running and not request.was_thanked(who)

        def noted(r: SupportRequest) -> SupportRequest:
            r = r.followed_up(who, at, text)
            return r.thanked(who) if thank and not r.was_thanked(who) else r

        updated = await self._change(request_id, noted)
        if thank:
            link = self._messenger.link(request.address, request.id)
            note = (f"Thanks for jumping in on {request.requester.name}'s request in #backend! The support pair "
                    f"({status.names(status.paged()) or 'the leads'}) answers these, and the first-response clock is "
                    "still running for them. If you know the answer, please help the pair answer (mention them in "
                    f"the thread with what you know) rather than answer in their place. [Open the thread]({link})")
            await self._jobs.enqueue(direct_job(f"thanks|{request.id}|{who.aad_object_id}", who, note, request.address, at))
        return [Text(state_summary(updated, self._tz))] if mentioned else []

    async def _link_to_entry(self, request_id: str, who: Person, entry_id: str, words: tuple[str, ...]) -> ActionResult:
        """It was in the handbook after all: the request's keywords go to the entry, so the next one matches."""
        if not words:
            raise HandbookError(["Keep a keyword or two: the next request like this one is matched on them."])
        entry = await self.handbook.teach(entry_id, words)
        request, _, _ = await self._act(request_id, None, who, lambda r: r.added_to_handbook(entry.id, entry.title, who, linked=True))
        reply = Text(f"📘 {who.name} linked this request to the handbook entry “{entry.title}”; it now also matches "
                     f"{', '.join(words)}.")
        return ActionResult(self.card(request), "", [reply], True)

    # ------------------------------------------------------------------ incidents

    async def _acknowledge_grouped(self, request: SupportRequest) -> None:
        """Post the acknowledgement of a grouped request that no instance recorded as sent (better twice than never)."""
        stored = await self._requests.get(request.incident)
        root = stored.value.open_request() if stored else OpenRequest(request.incident, "", request.received_at)
        ack = await self.grouped_acknowledgement(request, root)
        await self._messenger.send(Post(request.address, ack, Priority.ACKNOWLEDGEMENT))
        now = self._clock()
        await self._change(request.id, lambda r: r.acknowledged(now))

    async def _join(self, child: SupportRequest, root_id: str) -> None:
        """Group a request under its incident's root: the root's card lists it; nobody is paged again."""
        root = await self._change(root_id, lambda r: r.with_grouped(child))
        await self._refresh_card(root)

    async def same_as(self, request_id: str, revision: int | None, who: Person, root_id: str) -> ActionResult:
        """Support says a request is the same problem as an open one: it joins that incident."""
        await self._allowed(who, request_id)
        if root_id == request_id:
            raise DomainError("A request can't be the same problem as itself.")
        stored_root = await self._requests.get(root_id)
        if stored_root is None or stored_root.value.resolved or stored_root.value.incident:
            raise DomainError("That request is not open any more (or is itself grouped); pick another.")
        root = stored_root.value

        def grouped(r: SupportRequest) -> SupportRequest:
            if r.resolved:
                raise AlreadyTriaged("This request is resolved already.")
            return r if r.incident == root_id else r.grouped_under(root_id)

        request, changed, note = await self._act(request_id, revision, who, grouped)
        if changed:
            await self._open.add(request.address.place, request.open_request())
            await self._join(request, root_id)
            link = self._messenger.link(root.address, root.id)
            replies = [Text(f"{who.name} grouped this with [{root.requester.name}'s request]({link}): the same problem. "
                            "The answer comes here too.")]
            return ActionResult(self.card(request), "", replies, True)
        return ActionResult(self.card(request), note)

    async def split(self, root_id: str, child_id: str, who: Person) -> ActionResult:
        """Not the same problem: the request leaves the incident and is paged as a request of its own."""
        await self._allowed(who, root_id)
        stored = await self._requests.get(child_id)
        if stored is None or stored.value.incident != root_id:
            root = await self._change(root_id, lambda r: r.without_grouped(child_id))
            return ActionResult(self.card(root), "That request is not in this incident any more.")
        child = await self._change(child_id, lambda r: r.ungrouped())
        root = await self._change(root_id, lambda r: r.without_grouped(child_id))
        await self._open.add(child.address.place, child.open_request())
        await self._jobs.enqueue(Job(f"repage|{child_id}|{child.revision}", "request.repage", self._clock(),
                                     {"request": child_id, "by": who.name}))
        return ActionResult(self.card(root), "", [], True)

    async def _repage(self, job: Job) -> None:
        """Page a request that left an incident, as if it had just arrived (its own card, clock and escalations)."""
        stored = await self._requests.get(job.payload["request"])
        if stored is None or stored.value.incident or stored.value.resolved:
            return
        request = stored.value
        status = await self._status()
        await self._watch(request, status, job.first_attempt or self._clock())
        if not request.extra.get("repaged"):
            ack, paged = self.acknowledgement(request, status)
            text = f"{job.payload['by']} says this is not the same problem as the incident it was grouped with. {ack.text}"
            await self._messenger.send(Post(request.address, Text(text, ack.mentions), Priority.PAGE))
            now = self._clock()
            request = await self._change(request.id, lambda r: r.paged([status.name(p) for p in paged], now).noting(repaged=True))
        if not request.card_id:
            card_id = await self._messenger.send(Post(request.address, self.card(request), Priority.CARD))
            await self._change(request.id, lambda r: r.with_card(card_id))

    async def send_to_all(self, root_id: str, revision: int | None, who: Person) -> ActionResult:
        """One click: the incident's outcome goes to every grouped requester, each in their own thread."""
        await self._allowed(who, root_id)
        stored = await self._requests.get(root_id)
        if stored is None or stored.value.outcome is None:
            raise DomainError("Triage this request first; its outcome is what the others get.")
        root = stored.value
        waiting = [g for g in root.grouped() if not g.get("sent")]
        if not waiting:
            return ActionResult(self.card(root), "Everyone in this incident has the answer already.")
        for child in waiting:
            await self._jobs.enqueue(Job(f"share|{root_id}|{child['id']}", "request.share", self._clock(),
                                         {"root": root_id, "child": child["id"], "by": [who.aad_object_id, who.name,
                                                                                        who.teams_id]}))

        def sent(r: SupportRequest) -> SupportRequest:
            marked = [dict(g, sent=True) if g["id"] in {c["id"] for c in waiting} else g for g in r.grouped()]
            return r._changed(extra={**r.extra, "grouped": marked})

        updated = await self._change(root_id, sent)
        return ActionResult(self.card(updated), "", [Text(f"📣 {who.name} sent this outcome to the {len(waiting)} "
                                                          "other requesters of this incident, each in their thread.")], True)

    async def _share(self, job: Job) -> None:
        """Send the root's outcome to one grouped requester in their thread, and resolve their request."""
        root = (await self._requests.get(job.payload["root"])).value
        stored = await self._requests.get(job.payload["child"])
        if stored is None or stored.value.resolved or root.outcome is None:
            return
        child, who = stored.value, Person(*job.payload["by"])
        if not child.extra.get("shared"):
            mention = _mention(child.requester)
            link = self._messenger.link(root.address, root.id)
            answer = root.answer_given() or root.outcome.label
            await self._messenger.send(Post(child.address, Text(
                f"{mention.tag} this was the same problem as [{root.requester.name}'s request]({link}). "
                f"{root.outcome.label}, from {(root.outcome_by or who).name}: {answer}", (mention,)), Priority.PAGE))
            child = await self._change(child.id, lambda r: r.noting(shared=True))
        now = self._clock()
        try:
            updated = await self._change(child.id, lambda r: r if r.outcome else r.triage(
                root.outcome, who, now, {**root.detail, "incident": root.id}))
        except AlreadyTriaged:
            return
        await self._resolved(updated)

    # ------------------------------------------------------------------ Jira

    async def _file_ticket(self, job: Job) -> None:
        """File the bug's ticket once, then tell the thread; each step is recorded, so a retry resumes."""
        stored = await self._requests.get(job.payload["request"])
        if stored is None:
            return
        request = stored.value
        if request.outcome is None:
            # The job is queued before the triage is written; if that write never landed, there is nothing to file.
            # A newer revision means the click lost to another change (its triage is never written): stop now.
            lost = job.payload.get("revision") not in (None, request.revision)
            if lost or (self._clock() - job.due).total_seconds() > TRIAGE_LANDING_SECONDS:
                return
            raise RetryLater("the triage is not recorded yet", 1)
        if request.ticket_key:
            await self._announce_ticket(request)
            return
        if request.ticket is not TicketState.PENDING:
            return
        wait_for_earlier_attempt(request.extra.get("ticket_attempt_at"), self._clock(), self._ticket_retry)
        await self._change(request.id, lambda r: r.noting(ticket_attempt_at=self._clock().isoformat()))
        link = self._messenger.link(request.address, request.id)
        paragraphs = [
            request.detail.get("description") or request.text,
            [("Reported by ", None), (request.requester.name, None), (" in #backend: ", None), ("open the thread", link)],
            f"Verified by {request.outcome_by.name if request.outcome_by else 'support'}.",
        ]
        try:
            ticket = await file_once(
                self._tickets, project=self.catalogue.jira_project, issue_type=self.catalogue.jira_issue_type,
                summary=request.detail.get("summary") or shorten(request.text, 120), paragraphs=paragraphs,
                label=f"supportbot-{request.id}", retry_seconds=self._ticket_retry,
            )
        except JiraRejected as err:
            updated = await self._change(request.id, lambda r: r.ticket_failed(str(err)))
            await self._messenger.send(Post(request.address, Text(f"Jira refused the ticket: {err}. Please file it by hand.")))
            await self._refresh_card(updated)
            return
        try:
            updated = await self._change(request.id, lambda r: r.ticket_created(ticket.key, ticket.url, self._clock()))
        except DomainError as err:
            raise RetryLater(f"{ticket.key} was created but could not be recorded: {err}", self._ticket_retry) from err
        await self._resolved(updated)
        await self._announce_ticket(updated)

    async def _announce_ticket(self, request: SupportRequest) -> None:
        """Post "filed as KEY" in the thread once, and show it on the card."""
        if request.extra.get("ticket_posted"):
            return
        who = _mention(request.requester)
        await self._messenger.send(Post(request.address, Text(
            f"{who.tag} filed as [{request.ticket_key}]({request.ticket_url}) for the Edge team.", (who,))))
        updated = await self._change(request.id, lambda r: r.noting(ticket_posted=True))
        await self._refresh_card(updated)
