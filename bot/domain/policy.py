"""The one permission policy: may this person do this action now? Decided from the stored roster and week only."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

from .members import Member
from .rotation import RotationWeek


class Action(str, enum.Enum):
    """Everything that changes something, by who may do it."""

    HANDLE = "handle"  # claim, triage, send a handbook answer, ask the team, refuse a DB override, alert buttons
    RESPOND = "respond"  # a reply in a request's thread that counts as support's first response
    CONFIRM_OVERRIDE = "confirm_override"  # the second pair of eyes on a manual database change
    ADD_TO_HANDBOOK = "add_to_handbook"
    PICK = "pick"  # post the pick card
    PROPOSE = "propose"  # Suggest another, Edit on the pick card
    CONFIRM_TEAM = "confirm_team"
    AWAY = "away"
    OFFER_SWAP = "offer_swap"
    ACCEPT_SWAP = "accept_swap"
    EDIT_MEMBER = "edit_member"
    SYNC_ROSTER = "sync_roster"
    CHOOSE_CHANNEL = "choose_channel"  # alerts here, rotation here, requests here / off
    RETRY_JOBS = "retry_jobs"

    @property
    def label(self) -> str:
        """How the README's permission table names the action."""
        return _LABELS[self]


_LABELS = {
    Action.HANDLE: "claim, triage, send a handbook answer, ask the team, handle an alert",
    Action.RESPOND: "reply in a request's thread as support's first response",
    Action.CONFIRM_OVERRIDE: "confirm a database override (second person)",
    Action.ADD_TO_HANDBOOK: "add to the handbook",
    Action.PICK: "`pick`",
    Action.PROPOSE: "Suggest another, Edit on the pick card",
    Action.CONFIRM_TEAM: "Confirm on the pick card",
    Action.AWAY: "`away`",
    Action.OFFER_SWAP: "`swap` (offer my duty)",
    Action.ACCEPT_SWAP: "accept a swap",
    Action.EDIT_MEMBER: "`member`, edit a member",
    Action.SYNC_ROSTER: "`sync roster`",
    Action.CHOOSE_CHANNEL: "`alerts here`, `rotation here`, `requests here`/`off`",
    Action.RETRY_JOBS: "`jobs`, retry a parked job",
}

_REFUSALS = {
    Action.HANDLE: "Only the current support pair, the fallback and the leads can do that.",
    Action.RESPOND: "Only the current support pair, the fallback and the leads respond for support.",
    Action.CONFIRM_OVERRIDE: "Only someone from support with production access can confirm a database override.",
    Action.ADD_TO_HANDBOOK: "Only people on the team's roster can add to the handbook.",
    Action.PICK: "Only people on the team's roster can start the pick.",
    Action.PROPOSE: "Only people on the roster can propose a pair.",
    Action.CONFIRM_TEAM: "Only the current support pair or a lead can confirm the next pair.",
    Action.AWAY: "You are not on the roster, so there is nothing to record.",
    Action.OFFER_SWAP: "Only people on the roster can swap.",
    Action.ACCEPT_SWAP: "This swap request is for someone else.",
    Action.EDIT_MEMBER: "Only a lead can change members.",
    Action.SYNC_ROSTER: "Only a lead can sync the roster.",
    Action.CHOOSE_CHANNEL: "Only a lead can choose the bot's channels.",
    Action.RETRY_JOBS: "Only an active lead can see and retry parked jobs.",
}

_LEAD_ONLY = frozenset({Action.EDIT_MEMBER, Action.SYNC_ROSTER, Action.CHOOSE_CHANNEL, Action.RETRY_JOBS})
_ANY_MEMBER = frozenset({Action.ADD_TO_HANDBOOK, Action.PICK, Action.PROPOSE, Action.AWAY, Action.OFFER_SWAP})
_SUPPORT = frozenset({Action.HANDLE, Action.RESPOND, Action.CONFIRM_OVERRIDE})


@dataclass(frozen=True)
class Facts:
    """What the decision may look at, all read from storage: the roster, the current week, the thing acted on."""

    members: Mapping[str, Member]
    week: RotationWeek | None = None
    claimed_by: str = ""  # the request's claimer, who keeps support rights on it until it is resolved
    resolved: bool = False
    swap_taker: str = ""  # the stored swap's taker


@dataclass(frozen=True)
class Decision:
    """Allowed, or why not (a sentence for the person)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def may(person: str, action: Action, facts: Facts) -> Decision:
    """May this person do this action now, by the stored roster and week?"""
    member = facts.members.get(person)
    active = member is not None and member.active
    lead = active and member.is_lead
    if action in _LEAD_ONLY:
        allowed = lead
    elif action in _ANY_MEMBER:
        allowed = active
    elif action is Action.CONFIRM_TEAM:
        allowed = lead or (active and facts.week is not None and person in facts.week.pair)
    elif action is Action.ACCEPT_SWAP:
        allowed = active and bool(facts.swap_taker) and person == facts.swap_taker
    elif action in _SUPPORT:
        serving = facts.week is not None and facts.week.serves(person)
        claimer = bool(facts.claimed_by) and person == facts.claimed_by and not facts.resolved
        allowed = lead or (active and (serving or claimer))
        if action is Action.CONFIRM_OVERRIDE:
            allowed = allowed and member.production_access
    else:  # pragma: no cover - every action is listed above; a new one must be placed
        raise ValueError(f"no rule for {action}")
    return Decision(True) if allowed else Decision(False, _REFUSALS[action])


def refusal(action: Action) -> str:
    """The sentence a person reads when the policy refuses them this action."""
    return _REFUSALS[action]


def is_support(person: str, facts: Facts) -> bool:
    """True for whoever may act for support on the thing in the facts (pair, fallback, leads, its claimer)."""
    return may(person, Action.HANDLE, facts).allowed


def active_leads(members: Mapping[str, Member]) -> list[Member]:
    """The active leads, by name."""
    return sorted((m for m in members.values() if m.is_lead and m.active), key=lambda m: m.display_name)
