"""Bugsnag alerts in #bugsnag-backend: one thread per error, a "being handled" clock, snoozes and tickets."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from .errors import DomainError
from .address import Address
from .requests import Person, TicketState

# Triggers that start a new thread even when the error has one: something changed for the worse.
FRESH_THREAD_TRIGGERS = frozenset({"reopened", "projectSpiking"})
# How many of its latest events a thread remembers by their stored webhook, so that one counted already is not
# counted again when its job runs again (after a crash, a lost lease).
COUNTED_EVENTS = 200


@dataclass(frozen=True)
class Alert:
    """One Bugsnag webhook, reduced to what the card shows; `error` may be missing when a project is rate-limited."""

    project_id: str
    project_name: str
    trigger_type: str
    trigger_message: str
    error_id: str = ""
    exception_class: str = ""
    message: str = ""
    context: str = ""
    release_stage: str = ""
    app_version: str = ""
    severity: str = ""
    occurrences: int = 0
    users_affected: int = 0
    first_received: str = ""
    url: str = ""
    project_url: str = ""

    @property
    def key(self) -> str:
        """What groups repeated events: the Bugsnag error, or the project and trigger when there is none."""
        return f"error:{self.error_id}" if self.error_id else f"project:{self.project_id}:{self.trigger_type}"

    @property
    def production(self) -> bool:
        """True for the production release stage (only those escalate)."""
        return self.release_stage.lower() == "production" or (not self.error_id and not self.release_stage)

    @property
    def title(self) -> str:
        """The headline: the exception class, or the trigger when there is no error."""
        return self.exception_class or self.trigger_message or self.trigger_type or "Bugsnag alert"

    def to_dict(self) -> dict:
        """For storage."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "Alert":
        """From storage, ignoring fields an older version did not know."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class AlertState(str, enum.Enum):
    """Where an alert thread stands."""

    OPEN = "open"
    HANDLING = "handling"
    NOT_IMPACTFUL = "not_impactful"


class AlertAlreadyHandled(DomainError):
    """Someone already took or dismissed the alert."""


@dataclass(frozen=True)
class AlertThread:
    """The thread of one error in the alert channel, and what people did about it."""

    key: str
    alert: Alert
    events: int = 1
    address: Address | None = None
    card_id: str = ""
    state: AlertState = AlertState.OPEN
    opened_at: datetime | None = None
    last_event_at: datetime | None = None
    handled_by: Person | None = None
    handled_at: datetime | None = None
    reason: str = ""
    snoozed_until: datetime | None = None
    ticket: TicketState = TicketState.NONE
    ticket_key: str = ""
    ticket_url: str = ""
    # The escalation levels sent, whatever order their jobs ran in (a late level 1 still goes out after level 2).
    escalated_levels: frozenset[int] = frozenset()
    earlier_thread: str = ""
    revision: int = 0
    extra: dict = field(default_factory=dict)

    def _changed(self, **changes) -> "AlertThread":
        return replace(self, revision=self.revision + 1, **changes)

    def repeated(self, alert: Alert, at: datetime, event: str = "") -> "AlertThread":
        """Another event of the same error: one more event; Bugsnag's counters only grow, whatever order webhooks arrive in.

        `event` names the stored webhook: one counted already (its job ran again after a crash) changes nothing.
        """
        if event and self.counted(event):
            return self
        newest = replace(
            alert,
            occurrences=max(alert.occurrences, self.alert.occurrences),
            users_affected=max(alert.users_affected, self.alert.users_affected),
        )
        return self._changed(alert=newest, events=self.events + 1, last_event_at=at, extra=self._counting(event))

    def counted(self, event: str) -> bool:
        """True when this stored webhook was counted on the thread already."""
        return event in self.extra.get("counted", [])

    def _counting(self, event: str) -> dict:
        if not event:
            return self.extra
        # The last events only: a job runs again within minutes of its first run, not after hundreds of events.
        return {**self.extra, "counted": [*self.extra.get("counted", []), event][-COUNTED_EVENTS:]}

    @classmethod
    def opened(cls, alert: Alert, at: datetime, earlier_thread: str = "", event: str = "") -> "AlertThread":
        """A new thread for an error's first event (`event` names its stored webhook)."""
        return cls(alert.key, alert, opened_at=at, last_event_at=at, earlier_thread=earlier_thread,
                   extra={"counted": [event]} if event else {})

    def handle(self, who: Person, at: datetime) -> "AlertThread":
        """I'm handling it: stops the clock; a second click by the same person changes nothing."""
        if self.state is AlertState.HANDLING and self.handled_by and self.handled_by.aad_object_id == who.aad_object_id:
            return self
        if self.state is not AlertState.OPEN:
            by = self.handled_by.name if self.handled_by else "Someone"
            raise AlertAlreadyHandled(f"{by} already took care of this alert.")
        return self._changed(state=AlertState.HANDLING, handled_by=who, handled_at=at)

    def dismiss(self, who: Person, at: datetime, reason: str) -> "AlertThread":
        """Not impactful, with a reason: stops the clock."""
        if self.state is AlertState.NOT_IMPACTFUL:
            return self
        return self._changed(state=AlertState.NOT_IMPACTFUL, handled_by=who, handled_at=at, reason=reason)

    def snooze(self, until: datetime) -> "AlertThread":
        """No escalation until then."""
        return self._changed(snoozed_until=until)

    @property
    def clock_running(self) -> bool:
        """True while nobody has taken or dismissed the alert."""
        return self.state is AlertState.OPEN

    @property
    def escalations(self) -> int:
        """The highest escalation level sent (0 for none): what the card says."""
        return max(self.escalated_levels, default=0)

    def needs_escalation(self, level: int, now: datetime) -> bool:
        """Open, production, not snoozed, and this level not sent yet."""
        snoozed = self.snoozed_until is not None and self.snoozed_until > now
        return self.clock_running and self.alert.production and not snoozed and level not in self.escalated_levels

    def escalated(self, level: int) -> "AlertThread":
        """Record that an escalation level was sent."""
        return self if level in self.escalated_levels else self._changed(escalated_levels=self.escalated_levels | {level})

    def ticket_pending(self) -> "AlertThread":
        """A Jira ticket is being filed."""
        return self._changed(ticket=TicketState.PENDING)

    def ticket_created(self, key: str, url: str) -> "AlertThread":
        """The ticket exists; it is remembered for this error."""
        return self._changed(ticket=TicketState.CREATED, ticket_key=key, ticket_url=url)

    def ticket_failed(self, reason: str) -> "AlertThread":
        """Jira refused the ticket."""
        return self._changed(ticket=TicketState.FAILED, extra={**self.extra, "ticket_error": reason})
