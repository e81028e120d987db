"""The #bugsnag-backend desk: store alerts first, post one thread per error, watch the "being handled" clock."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.alerts import FRESH_THREAD_TRIGGERS, Alert, AlertAlreadyHandled, AlertThread
from ..domain.errors import AlreadyExists, DomainError, NotFound
from ..domain.iteration import IterationPolicy
from ..domain.jobs import Job, RetryLater
from ..core.events import ActionResult, Card, Mention, Post, Priority, Text, Update
from ..core.views import AlertView
from ..domain.address import Address
from ..domain.requests import NotAllowed, Person, TicketState
from ..domain.policy import Action, may
from ..domain.status import SupportStatus
from ..domain.text import join_names
from ..domain.catalogue import Catalogue
from .changes import apply_click, change_stored
from .channels import choose_channel, chosen_channel
from .jobs import JobRunner
from .ports import ConversationRepository, MemberRepository, Messenger, WeekRepository
from .support import SupportLookup
from .tickets import JiraRejected, file_once, wait_for_earlier_attempt

log = logging.getLogger(__name__)
ALERT_CHANNEL = ("alerts-channel", "current")
WAIT_FOR_CHANNEL_SECONDS = 5.0
REFRESH_DELAY_SECONDS = 2.0
# The ticket job is queued just before the click is written; this long it waits for that write to land.
TICKET_LANDING_SECONDS = 60


@dataclass(frozen=True)
class AlertSettings:
    """Alert-specific settings."""

    escalation_seconds: int = 600
    configured_channel: Address | None = None
    ticket_retry_seconds: float = 60.0


class AlertDesk:
    """Use cases of the alert channel; Bugsnag parsing lives in integrations.bugsnag."""

    def __init__(self, *, alerts, conversations: ConversationRepository, members: MemberRepository,
                 lookup: SupportLookup, jobs: JobRunner, messenger: Messenger, catalogue: Catalogue,
                 tz: ZoneInfo, clock: Callable[[], datetime], settings: AlertSettings, tickets=None) -> None:
        self._alerts = alerts
        self._conversations = conversations
        self._members = members
        self._lookup = lookup
        self._jobs = jobs
        self._messenger = messenger
        self._catalogue = catalogue
        self._tz = tz
        self._clock = clock
        self._settings = settings
        self._tickets = tickets
        jobs.handles("alert.deliver")(self._deliver)
        jobs.handles("alert.post")(self._post)
        jobs.handles("alert.refresh")(self._refresh)
        jobs.handles("alert.escalate")(self._escalate)
        jobs.handles("alert.ticket")(self._file_ticket)

    # ------------------------------------------------------------------ receiving

    async def accept(self, alert: Alert) -> None:
        """Store the alert as a job (one round trip) and wake the runner; posting happens after the 200."""
        # One lane per error: an instance counts its events in the order they came.
        job = Job(f"alert|{uuid.uuid4().hex}", "alert.deliver", self._clock(),
                  {"alert": alert.to_dict(), "lane": f"alert|{alert.key}"})
        await self._jobs.enqueue(job)
        self._jobs.wake()
        log.info("bugsnag alert stored as %s (%s)", job.id, alert.trigger_type)

    async def set_channel(self, address: Address, who: Person) -> None:
        """A lead makes this channel the alert channel; waiting alerts are posted there."""
        await choose_channel(self._conversations, self._members, ALERT_CHANNEL, address, who, "alert")
        self._jobs.wake()

    async def channel(self) -> Address | None:
        """Where alerts go: the channel a lead chose, else the configured one."""
        return await chosen_channel(self._conversations, ALERT_CHANNEL) or self._settings.configured_channel

    async def _status(self) -> SupportStatus:
        return await self._lookup.status()

    def _support_line(self, status: SupportStatus) -> str:
        return status.names(status.paged()) if status.week else ""

    async def _deliver(self, job: Job) -> None:
        """Record one event: a new error opens a thread (its card is posted by one job of its own), a repeat counts
        on the thread, whether its card is posted already or still pending, so nothing waits on a post."""
        alert = Alert.from_dict(job.payload["alert"])
        if await self.channel() is None:
            raise RetryLater("no alert channel yet; a lead can set one with '@Support Bot alerts here'", WAIT_FOR_CHANNEL_SECONDS, waiting=True)
        now = self._clock()
        stored = await self._alerts.get(alert.key)
        earlier = ""
        fresh = alert.trigger_type in FRESH_THREAD_TRIGGERS and not (stored and stored.value.counted(job.id))
        if stored is not None and fresh and stored.value.card_id:
            earlier = self._thread_link(stored.value)
            try:
                await self._alerts.remove(stored.value, stored.etag)
            except (NotFound, DomainError):
                raise RetryLater("the alert thread changed while starting a fresh one", 1)
            stored = None
        if stored is None:
            thread = AlertThread.opened(alert, now, earlier, event=job.id)
            try:
                await self._alerts.add(thread)
            except AlreadyExists:
                pass  # another event of this error opened it a moment ago: count this one on it, below
            else:
                await self._post_later(thread)
                return
        # Counted once per stored webhook, even when this job runs again after a crash.
        updated = await change_stored(lambda: self._alerts.get(alert.key), self._alerts.replace,
                                      lambda t: t.repeated(alert, now, event=job.id))
        if not updated.card_id:
            await self._post_later(updated)  # still pending: its one post job shows this event too
            return
        # One card update per burst, not one per webhook: Teams allows 60 sends per 30 s per conversation.
        await self._jobs.enqueue(Job(f"alert-refresh|{alert.key}|{int(now.timestamp() // REFRESH_DELAY_SECONDS)}",
                                     "alert.refresh", now + timedelta(seconds=REFRESH_DELAY_SECONDS), {"key": alert.key}))

    async def _post_later(self, thread: AlertThread) -> None:
        """Queue the thread's card post: one job per thread, whatever the number of events (enqueuing is idempotent)."""
        opened = thread.opened_at.isoformat()
        # The alert rides along only so that the parked-jobs card can say what the job was about.
        if await self._jobs.enqueue(Job(f"alert-post|{thread.key}|{opened}", "alert.post", self._clock(),
                                        {"key": thread.key, "opened": opened, "alert": thread.alert.to_dict()})):
            self._jobs.wake()

    async def _post(self, job: Job) -> None:
        """Post a pending thread's card with its counts as they are now, then queue its escalations; retried until
        done, or parked. A retry after the card is recorded skips the post and does the steps after it."""
        stored = await self._alerts.get(job.payload["key"])
        # The same instant, whatever time zone either was written in.
        if stored is None or stored.value.opened_at != datetime.fromisoformat(job.payload["opened"]):
            return  # a fresh thread replaced this one
        thread = stored.value
        if not thread.card_id:
            channel = await self.channel()
            if channel is None:
                raise RetryLater("no alert channel yet; a lead can set one with '@Support Bot alerts here'", WAIT_FOR_CHANNEL_SECONDS, waiting=True)
            status = await self._status()
            card_id = await self._messenger.send(Post(channel, self._card(thread, status), Priority.CARD))

            def posted(t: AlertThread) -> AlertThread:
                return t if t.card_id else replace(t, address=channel.in_thread(card_id), card_id=card_id)

            # If this write fails, the retry posts the card again: at least once (README says so).
            thread = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace, posted)
        if thread.alert.production:
            calendar = self._catalogue.calendar
            first = calendar.add_working_seconds(thread.opened_at, self._settings.escalation_seconds)
            second = calendar.add_working_seconds(thread.opened_at, 2 * self._settings.escalation_seconds)
            for level, due in ((1, first), (2, second)):
                # Idempotent by id, so a retry after a failure here queues only what is missing. One lane per alert:
                # when both are due at once (after an outage), ⏰ still goes out before 🚨.
                await self._jobs.enqueue(Job(f"alert-escalate|{thread.key}|{thread.card_id}|{level}", "alert.escalate", due,
                                             {"key": thread.key, "card": thread.card_id, "level": level,
                                              "lane": f"alert-escalations|{thread.key}"}))
        if thread.events != stored.value.events or stored.value.card_id:
            await self._update_card(thread)  # events that arrived while the card was being posted (or, on a retry, maybe)

    async def _refresh(self, job: Job) -> None:
        stored = await self._alerts.get(job.payload["key"])
        if stored is not None and stored.value.card_id:
            await self._update_card(stored.value)

    async def _update_card(self, thread: AlertThread) -> None:
        status = await self._status()
        await self._messenger.send(Update(thread.address, thread.card_id, self._card(thread, status)))

    def _card(self, thread: AlertThread, status: SupportStatus) -> Card:
        return Card(AlertView(thread, self._support_line(status), self._tz), summary=thread.alert.title)

    def _thread_link(self, thread: AlertThread) -> str:
        return self._messenger.link(thread.address, thread.card_id) if thread.address else ""

    # ------------------------------------------------------------------ the clock

    async def _escalate(self, job: Job) -> None:
        level = int(job.payload["level"])
        stored = await self._alerts.get(job.payload["key"])
        now = self._clock()
        if stored is None or stored.value.card_id != job.payload["card"]:
            return  # a fresh thread replaced this one
        thread = stored.value
        if thread.snoozed_until and thread.snoozed_until > now and thread.clock_running:
            raise RetryLater("snoozed", (thread.snoozed_until - now).total_seconds(), waiting=True)
        if not thread.needs_escalation(level, now):
            return
        status = await self._status()
        if level == 1:
            people = list(status.paged())  # the leads, when nobody is on the rotation
            fallback = status.week.fallback if status.week else None
            if fallback and fallback not in people and status.is_free(fallback):
                people.append(fallback)
            mentions = tuple(Mention(p, status.name(p)) for p in people)
            text = "⏰ Nobody has taken this production alert yet. " + (join_names(m.tag for m in mentions) or "Support") + ", please have a look."
        else:
            mentions = tuple(Mention(p, status.name(p)) for p in status.available_leads())
            text = "🚨 This production alert is still unhandled. " + (join_names(m.tag for m in mentions) or "Leads (none of you is in today)") + ", please find someone."
        await self._messenger.send(Post(thread.address, Text(text, mentions), Priority.PAGE))
        updated = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace, lambda t: t.escalated(level))
        await self._update_card(updated)

    # ------------------------------------------------------------------ people acting

    async def _require_support(self, who: Person) -> None:
        decision = may(who.aad_object_id, Action.HANDLE, (await self._status()).facts())
        if not decision:
            raise NotAllowed(decision.reason)

    async def _act(self, key: str, revision: int | None, who: Person, change) -> tuple[AlertThread, bool, str]:
        await self._require_support(who)
        return await apply_click(lambda: self._alerts.get(key), self._alerts.replace, revision, change, (AlertAlreadyHandled,))

    async def _outcome(self, thread: AlertThread, changed: bool, note: str, replies: list) -> ActionResult:
        status = await self._status()
        return ActionResult(self._card(thread, status), note, replies if changed else [], changed)

    async def handle(self, key: str, revision: int | None, who: Person) -> ActionResult:
        """I'm handling it: says so in the thread and stops the clock."""
        thread, changed, note = await self._act(key, revision, who, lambda t: t.handle(who, self._clock()))
        mention = Mention(who.mention_id, who.name)
        return await self._outcome(thread, changed, note, [Text(f"Being handled by {mention.tag}.", (mention,))])

    async def dismiss(self, key: str, revision: int | None, who: Person, reason: str) -> ActionResult:
        """Not impactful, with a reason."""
        reason = (reason or "").strip()[:500]
        if not reason:
            raise DomainError("Please give a reason why it is not impactful.")
        thread, changed, note = await self._act(key, revision, who, lambda t: t.dismiss(who, self._clock(), reason))
        return await self._outcome(thread, changed, note, [Text(f"{who.name} marked this as not impactful: {reason}")])

    async def snooze(self, key: str, revision: int | None, who: Person, hours: int) -> ActionResult:
        """No escalation for 1 or 24 hours."""
        if hours not in (1, 24):
            raise DomainError("Snooze for 1 or 24 hours.")
        until = self._clock() + timedelta(hours=hours)
        thread, changed, note = await self._act(key, revision, who, lambda t: t.snooze(until))
        return await self._outcome(thread, changed, note, [Text(f"{who.name} snoozed this alert for {hours} h.")])

    async def ticket(self, key: str, revision: int | None, who: Person) -> ActionResult:
        """One Jira ticket per error, remembered on the thread."""
        if self._tickets is None:
            raise DomainError("Jira is not configured here; please file the ticket by hand.")

        def pending(t: AlertThread) -> AlertThread:
            if t.ticket_key:
                raise AlertAlreadyHandled(f"This error already has {t.ticket_key}.")
            return t.ticket_pending()

        await self._require_support(who)
        # Queued before the click is written, so a failure between the two never strands a pending ticket.
        await self._jobs.enqueue(Job(f"alert-ticket|{key}", "alert.ticket", self._clock(), {"key": key}))
        thread, changed, note = await self._act(key, None, who, pending)
        return await self._outcome(thread, changed, note, [Text(f"{who.name} asked for a Jira ticket; filing it now.")])

    async def _file_ticket(self, job: Job) -> None:
        stored = await self._alerts.get(job.payload["key"])
        if stored is None:
            return
        if stored.value.ticket_key:
            await self._announce_ticket(stored.value)
            return
        thread = stored.value
        if thread.ticket is not TicketState.PENDING:
            # Queued just before the click is written; if that write never landed, there is nothing to file.
            if (self._clock() - job.due).total_seconds() > TICKET_LANDING_SECONDS:
                return
            raise RetryLater("the ticket request is not recorded yet", 1)
        wait_for_earlier_attempt(thread.extra.get("ticket_attempt_at"), self._clock(), self._settings.ticket_retry_seconds)
        thread = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace,
                                     lambda t: replace(t, extra={**t.extra, "ticket_attempt_at": self._clock().isoformat()}))
        a = thread.alert
        paragraphs = [
            f"{a.exception_class}: {a.message}".strip(": "),
            f"Context: {a.context or '—'} · release {a.release_stage or '—'} {a.app_version}".strip(),
            f"Occurrences: {a.occurrences} · users affected: {a.users_affected} · first seen {a.first_received or 'unknown'}",
            [("Open in Bugsnag", a.url or a.project_url or None)],
        ]
        try:
            ticket = await file_once(
                self._tickets, project=self._catalogue.jira_project, issue_type=self._catalogue.jira_issue_type,
                summary=f"[Bugsnag] {a.title}: {a.message or a.context}"[:255], paragraphs=paragraphs,
                label=f"bugsnag-{''.join(c for c in thread.key if c.isalnum())[:200]}",
                retry_seconds=self._settings.ticket_retry_seconds,
            )
        except JiraRejected as err:
            updated = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace, lambda t: t.ticket_failed(str(err)))
            await self._update_card(updated)
            return
        try:
            updated = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace,
                                          lambda t: t.ticket_created(ticket.key, ticket.url))
        except DomainError as err:
            raise RetryLater(f"{ticket.key} was created but could not be recorded: {err}",
                             self._settings.ticket_retry_seconds) from err
        await self._announce_ticket(updated)

    async def _announce_ticket(self, thread: AlertThread) -> None:
        """Post "Filed as KEY" in the thread once, and show it on the card."""
        if thread.extra.get("ticket_posted"):
            return
        await self._messenger.send(Post(thread.address, Text(f"Filed as [{thread.ticket_key}]({thread.ticket_url}).")))
        updated = await change_stored(lambda: self._alerts.get(thread.key), self._alerts.replace,
                                      lambda t: replace(t, extra={**t.extra, "ticket_posted": True}))
        await self._update_card(updated)

