"""Triage card clicks: claim, an outcome, a handbook answer, ask the team, add to handbook, or the override decision."""

from __future__ import annotations

from cards.verbs import Verb

from ..domain.errors import DomainError
from ..domain.requests import Outcome, Person
from .actions import ActionRequest, ActionResult, actions, card_field, card_revision, from_outcome
from .router import Caller


def person(caller: Caller) -> Person:
    """The clicking user as a domain person."""
    return Person(caller.aad_object_id, caller.name, caller.teams_id)


@actions.verb(Verb.CLAIM)
async def claim(request: ActionRequest) -> ActionResult:
    """I'm on it."""
    desk = request.services.desk
    return from_outcome(await desk.claim(card_field(request.data, "request"), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.TRIAGE)
async def triage(request: ActionRequest) -> ActionResult:
    """One of the outcome forms was submitted."""
    try:
        outcome = Outcome(request.data.get("outcome"))
    except ValueError:
        raise DomainError("This card is out of date. Ask me again for a fresh one.") from None
    desk = request.services.desk
    return from_outcome(await desk.triage(card_field(request.data, "request"), card_revision(request.data), person(request.caller), outcome, request.data))


@actions.verb(Verb.DB_CONFIRM)
async def db_confirm(request: ActionRequest) -> ActionResult:
    """The second person confirms a database override."""
    desk = request.services.desk
    return from_outcome(await desk.confirm_override(card_field(request.data, "request"), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.DB_REFUSE)
async def db_refuse(request: ActionRequest) -> ActionResult:
    """A pending database override is refused."""
    desk = request.services.desk
    return from_outcome(await desk.refuse_override(card_field(request.data, "request"), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.SEND_ANSWER)
async def send_answer(request: ActionRequest) -> ActionResult:
    """Send this answer: a handbook entry goes to the requester."""
    desk = request.services.desk
    entry = card_field(request.data, "entry")
    return from_outcome(await desk.send_answer(card_field(request.data, "request"), card_revision(request.data), person(request.caller), entry))


@actions.verb(Verb.ASK_TEAM)
async def ask_team(request: ActionRequest) -> ActionResult:
    """Ask the team: support doesn't know the answer."""
    return from_outcome(await request.services.desk.ask_team(card_field(request.data, "request"), person(request.caller)))


@actions.verb(Verb.HANDBOOK_ADD)
async def handbook_add(request: ActionRequest) -> ActionResult:
    """Add to handbook: the form made from a request is saved as an entry."""
    desk = request.services.desk
    return from_outcome(await desk.add_to_handbook(card_field(request.data, "request"), person(request.caller), request.data))
