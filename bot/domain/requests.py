"""Support requests from #backend: the first-response clock, claims, triage outcomes and the record kept."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from .address import Address
from .errors import DomainError
from .incidents import OpenRequest
from .text import format_clock, join_names, shorten

MAX_FOLLOWUPS = 20


class Outcome(str, enum.Enum):
    """How a request was triaged; one button each on the triage card."""

    BUG = "bug"
    EXCEPTION = "exception"
    QUESTION = "question"
    TRAINING = "training"
    DOCUMENTED = "documented"
    NOT_OURS = "not_ours"
    SELF_SERVICE = "self_service"
    ADMIN_PANEL = "admin_panel"
    DB_OVERRIDE = "db_override"

    @property
    def label(self) -> str:
        """The button title."""
        return _LABELS[self]


_LABELS = {
    Outcome.BUG: "Bug → Jira",
    Outcome.EXCEPTION: "Exception",
    Outcome.QUESTION: "Quick question",
    Outcome.TRAINING: "Training gap",
    Outcome.DOCUMENTED: "Documented",
    Outcome.NOT_OURS: "Not our system",
    Outcome.SELF_SERVICE: "Self-service data",
    Outcome.ADMIN_PANEL: "Admin panel",
    Outcome.DB_OVERRIDE: "DB override",
}


class TicketState(str, enum.Enum):
    """Where the Jira ticket of a bug stands."""

    NONE = "none"
    PENDING = "pending"
    CREATED = "created"
    FAILED = "failed"


class DbDecision(str, enum.Enum):
    """The decision on a manual database override."""

    REFUSED = "refused"
    AWAITING_SECOND = "awaiting_second"
    APPROVED = "approved"


@dataclass(frozen=True)
class Person:
    """Someone in a conversation: Entra object id, display name, and Teams id where known."""

    aad_object_id: str
    name: str
    teams_id: str = ""

    @property
    def mention_id(self) -> str:
        """The id Teams accepts in a mention: the Teams id, else the Entra object id."""
        return self.teams_id or self.aad_object_id


class AlreadyClaimed(DomainError):
    """Someone else claimed the request first."""


class AlreadyTriaged(DomainError):
    """The request already has an outcome."""


class NotAllowed(DomainError):
    """The person may not do this."""


class AlreadyAsked(DomainError):
    """Someone already asked the team about this request."""


@dataclass(frozen=True)
class RequestText:
    """What the recurring hint needs of a request: its id, its text and when it came in."""

    id: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class SupportRequest:
    """One request in #backend and everything that happened to it."""

    id: str
    address: Address
    requester: Person
    text: str
    received_at: datetime
    target_at: datetime
    in_hours: bool
    acked_at: datetime | None = None
    card_id: str = ""
    claimed_by: Person | None = None
    claimed_at: datetime | None = None
    first_response_by: Person | None = None
    first_response_at: datetime | None = None
    outcome: Outcome | None = None
    outcome_by: Person | None = None
    outcome_at: datetime | None = None
    detail: dict = field(default_factory=dict)
    ticket: TicketState = TicketState.NONE
    ticket_key: str = ""
    ticket_url: str = ""
    resolved_at: datetime | None = None
    # The escalation levels sent, whatever order their jobs ran in (a late level 1 still goes out after level 2).
    escalated_levels: frozenset[int] = frozenset()
    revision: int = 0
    # What the card shows beside the record: handbook suggestions, recurrences, the team asked, the entry added.
    extra: dict = field(default_factory=dict)

    @property
    def clock_running(self) -> bool:
        """True until someone from support responds."""
        return self.first_response_at is None

    @property
    def response_seconds(self) -> float | None:
        """Seconds from arrival to the first human response."""
        if self.first_response_at is None:
            return None
        return max((self.first_response_at - self.received_at).total_seconds(), 0.0)

    def _changed(self, **changes) -> "SupportRequest":
        return replace(self, revision=self.revision + 1, **changes)

    def _clock_stopped(self, who: Person, at: datetime) -> dict:
        return {"first_response_by": who, "first_response_at": at} if self.clock_running else {}

    def responded(self, who: Person, at: datetime) -> "SupportRequest":
        """Stop the clock (a claim, a triage, or a reply in the thread); later responses change nothing."""
        stopped = self._clock_stopped(who, at)
        return self._changed(**stopped) if stopped else self

    def claim(self, who: Person, at: datetime) -> "SupportRequest":
        """Take the request; a second click by the same person changes nothing."""
        if self.claimed_by is not None:
            if self.claimed_by.aad_object_id == who.aad_object_id:
                return self
            raise AlreadyClaimed(f"{self.claimed_by.name} is already on it.")
        return self._changed(claimed_by=who, claimed_at=at, **self._clock_stopped(who, at))

    def triage(self, outcome: Outcome, who: Person, at: datetime, detail: dict, resolved: bool = True) -> "SupportRequest":
        """Record an outcome; it also stops the clock, and claims the request for whoever triaged."""
        if self.outcome is not None:
            by = self.outcome_by.name if self.outcome_by else "Someone"
            raise AlreadyTriaged(f"{by} already triaged this as {self.outcome.label}.")
        return self._changed(
            claimed_by=self.claimed_by or who,
            claimed_at=self.claimed_at or at,
            outcome=outcome,
            outcome_by=who,
            outcome_at=at,
            detail=dict(detail),
            resolved_at=at if resolved else None,
            **self._clock_stopped(who, at),
        )

    def ticket_pending(self) -> "SupportRequest":
        """The Jira ticket is being created."""
        return self._changed(ticket=TicketState.PENDING)

    def ticket_created(self, key: str, url: str, at: datetime) -> "SupportRequest":
        """The Jira ticket exists; the request is resolved."""
        return self._changed(ticket=TicketState.CREATED, ticket_key=key, ticket_url=url, resolved_at=self.resolved_at or at)

    def ticket_failed(self, reason: str) -> "SupportRequest":
        """Jira refused the ticket for good."""
        return self._changed(ticket=TicketState.FAILED, detail={**self.detail, "ticket_error": reason})

    @property
    def escalations(self) -> int:
        """The highest escalation level sent (0 for none): what the card says."""
        return max(self.escalated_levels, default=0)

    def escalated(self, level: int) -> "SupportRequest":
        """Record that an escalation level was sent."""
        return self if level in self.escalated_levels else self._changed(escalated_levels=self.escalated_levels | {level})

    def needs_escalation(self, level: int) -> bool:
        """True when the clock still runs and this level was not sent yet (a grouped request's incident escalates)."""
        return self.clock_running and level not in self.escalated_levels and not self.incident

    @property
    def incident(self) -> str:
        """The id of the request this one is grouped under ('' for a request of its own, or an incident's root)."""
        return self.extra.get("incident", "")

    def grouped(self) -> list[dict]:
        """The requests grouped under this one: id, requester, when, in arrival order."""
        return list(self.extra.get("grouped", []))

    def grouped_under(self, root: str) -> "SupportRequest":
        """This request, grouped under another: it pages nobody and escalates with its incident."""
        return self._changed(extra={**self.extra, "incident": root})

    def ungrouped(self) -> "SupportRequest":
        """This request on its own again ("not the same problem")."""
        return self._changed(extra={k: v for k, v in self.extra.items() if k != "incident"})

    def with_grouped(self, child: "SupportRequest") -> "SupportRequest":
        """The root with one more grouped request (a repeat changes nothing)."""
        if any(g["id"] == child.id for g in self.grouped()):
            return self
        item = {"id": child.id, "name": child.requester.name, "at": child.received_at.isoformat(),
                "text": shorten(child.text, 140)}
        return self._changed(extra={**self.extra, "grouped": [*self.grouped(), item]})

    def without_grouped(self, child_id: str) -> "SupportRequest":
        """The root without a request that turned out to be another problem."""
        kept = [g for g in self.grouped() if g["id"] != child_id]
        return self._changed(extra={**self.extra, "grouped": kept}) if len(kept) != len(self.grouped()) else self

    def open_request(self) -> OpenRequest:
        """What grouping and the escalation digest need to know of this request."""
        return OpenRequest(self.id, self.text, self.received_at, self.requester.name, self.incident)

    def with_card(self, card_id: str) -> "SupportRequest":
        """Remember the triage card's activity id, for updates in place."""
        return replace(self, card_id=card_id)

    def with_hints(self, suggestions: list[dict], recurring: dict | None) -> "SupportRequest":
        """Remember the handbook entries that match and the earlier requests like this one, for the card."""
        hints = {"suggestions": list(suggestions)}
        if recurring:
            hints["recurring"] = dict(recurring)
        return replace(self, extra={**self.extra, **hints})

    def ask_team(self, who: Person, at: datetime) -> "SupportRequest":
        """Support asks the wider team for help; it stops no clock, and one ask is enough."""
        asked = self.extra.get("asked")
        if self.resolved_at is not None:
            raise AlreadyTriaged("This request is resolved already.")
        if asked:
            raise AlreadyAsked(f"{asked['name']} already asked the team.")
        return self._changed(extra={**self.extra, "asked": {"aad": who.aad_object_id, "name": who.name, "at": at.isoformat()}})

    def added_to_handbook(self, entry_id: str, title: str, who: Person, linked: bool = False) -> "SupportRequest":
        """Remember the handbook entry made from this request, or the existing one it was linked to."""
        entry = {"id": entry_id, "title": title, "by": who.name, "linked": linked}
        return self._changed(extra={**self.extra, "handbook_entry": entry})

    def answer_given(self) -> str:
        """What support answered, as plain text, to pre-fill a handbook entry."""
        d = self.detail
        if self.outcome is None:
            return ""
        return {
            Outcome.QUESTION: d.get("answer", ""),
            Outcome.EXCEPTION: d.get("cause", ""),
            Outcome.DOCUMENTED: d.get("answer") or f"This is documented: {d.get('title', '')} {d.get('url', '')}".strip(),
            Outcome.NOT_OURS: f"This is not a backend system; ask {d.get('owner', '')}.",
            Outcome.ADMIN_PANEL: f"Do it in the admin panel: {d.get('title', '')} {d.get('url', '')}".strip(),
            Outcome.SELF_SERVICE: "You can get this data yourself with the self-service export.",
            Outcome.TRAINING: d.get("note", "") or "A training gap: the trainers were told.",
            Outcome.BUG: f"A bug, filed as {self.ticket_key}." if self.ticket_key else "A bug, filed in Jira.",
            Outcome.DB_OVERRIDE: d.get("suggestion", ""),
        }[self.outcome]

    def noting(self, **facts) -> "SupportRequest":
        """Remember bookkeeping facts (a step done, an attempt made) without changing what the card shows."""
        return replace(self, extra={**self.extra, **facts})

    def followed_up(self, who: Person, at: datetime, text: str) -> "SupportRequest":
        """Record a message in the thread by the requester or a bystander (bookkeeping: the card does not change)."""
        kept = list(self.extra.get("followups", []))[-(MAX_FOLLOWUPS - 1):]
        item = {"aad": who.aad_object_id, "name": who.name, "at": at.isoformat(), "text": shorten(text, 300)}
        return replace(self, extra={**self.extra, "followups": [*kept, item]})

    def followups(self) -> list[dict]:
        """The follow-ups recorded in the thread, oldest first."""
        return list(self.extra.get("followups", []))

    def thanked(self, who: Person) -> "SupportRequest":
        """Remember that someone outside support was thanked for helping, so it happens once per request."""
        return replace(self, extra={**self.extra, "thanked": [*self.extra.get("thanked", []), who.aad_object_id]})

    def was_thanked(self, who: Person) -> bool:
        """True when this person was thanked on this request already."""
        return who.aad_object_id in self.extra.get("thanked", [])

    def paged(self, names: list[str], at: datetime) -> "SupportRequest":
        """Remember whom the page named and when (for "who is on it?" answers)."""
        return replace(self, extra={**self.extra, "paged": {"names": list(names), "at": at.isoformat()}})

    @property
    def resolved(self) -> bool:
        """True once the request has its final outcome."""
        return self.resolved_at is not None

    def acknowledged(self, at: datetime) -> "SupportRequest":
        """Record when the acknowledgement went out."""
        return replace(self, acked_at=at)

    def opening(self) -> dict:
        """The facts known on arrival, as plain data (carried by the paging job)."""
        return {
            "id": self.id, "address": self.address.to_json(),
            "requester": [self.requester.aad_object_id, self.requester.name, self.requester.teams_id],
            "text": self.text, "received_at": self.received_at.isoformat(), "target_at": self.target_at.isoformat(),
            "in_hours": self.in_hours,
        }

    @classmethod
    def from_opening(cls, data: dict) -> "SupportRequest":
        """A new request from opening()'s data."""
        return cls(
            id=data["id"], address=Address.from_json(data["address"]), requester=Person(*data["requester"]), text=data["text"],
            received_at=datetime.fromisoformat(data["received_at"]), target_at=datetime.fromisoformat(data["target_at"]),
            in_hours=bool(data["in_hours"]),
        )


@dataclass(frozen=True)
class DbRisk:
    """The risk form of a manual database override."""

    data: str
    rows: str
    reversible: str
    restartable: str
    difficulty: str
    risk: str
    reasons: str = ""

    def suggestion(self) -> str:
        """What the bot suggests instead of touching the database."""
        if self.restartable in ("yes", "unknown"):
            return "Restart or recreate the affected job or object instead of editing the database."
        return "Look for a way through the admin panel or a data fix in code review before a manual edit."


def db_proposal(risk: DbRisk, approve: bool) -> DbDecision:
    """Refuse by default; asking to approve only opens a four-eyes confirmation."""
    return DbDecision.AWAITING_SECOND if approve else DbDecision.REFUSED


def confirm_db(request: SupportRequest, who: Person, has_production_access: bool, at: datetime) -> SupportRequest:
    """The second pair of eyes approves: someone else than the proposer, with production access."""
    detail = request.detail
    if request.outcome is not Outcome.DB_OVERRIDE or detail.get("decision") != DbDecision.AWAITING_SECOND.value:
        raise AlreadyTriaged("This override is not waiting for a confirmation.")
    if detail.get("proposed_by") == who.aad_object_id:
        raise NotAllowed("Approval needs a second person; you proposed it.")
    if not has_production_access:
        raise NotAllowed("Only someone with production access can confirm a database override.")
    new_detail = {**detail, "decision": DbDecision.APPROVED.value, "confirmed_by": who.aad_object_id, "confirmed_by_name": who.name, "confirmed_at": at.isoformat()}
    return request._changed(detail=new_detail, resolved_at=at)


def refuse_db(request: SupportRequest, who: Person, at: datetime) -> SupportRequest:
    """Anyone allowed may turn a pending approval into a refusal."""
    detail = request.detail
    if request.outcome is not Outcome.DB_OVERRIDE or detail.get("decision") != DbDecision.AWAITING_SECOND.value:
        raise AlreadyTriaged("This override is not waiting for a confirmation.")
    new_detail = {**detail, "decision": DbDecision.REFUSED.value, "refused_by": who.aad_object_id, "refused_by_name": who.name}
    return request._changed(detail=new_detail, resolved_at=at)


def state_summary(request: SupportRequest, tz) -> str:
    """Where a request stands, in one short paragraph: who is on it since when, the outcome so far."""
    parts = [f"This is {request.requester.name}'s request from {format_clock(request.received_at, tz)}."]
    if request.claimed_by:
        parts.append(f"{request.claimed_by.name} is on it since {format_clock(request.claimed_at, tz)}.")
    elif request.first_response_by:
        parts.append(f"{request.first_response_by.name} from support answered at {format_clock(request.first_response_at, tz)}.")
    else:
        paged = request.extra.get("paged") or {}
        who = join_names(paged.get("names", [])) or "the support pair"
        parts.append(f"I paged {who}; nobody from support has answered yet. "
                     f"First response target: {format_clock(request.target_at, tz)}.")
    if request.outcome:
        by = f" by {request.outcome_by.name}" if request.outcome_by else ""
        parts.append(f"Outcome so far: {request.outcome.label}{by}.")
        if request.ticket_key:
            parts.append(f"Ticket: {request.ticket_key}.")
    if request.resolved_at:
        parts.append(f"Resolved at {format_clock(request.resolved_at, tz)}.")
    return " ".join(parts)
