"""The alert card's buttons."""

from __future__ import annotations

from cards.verbs import Verb

from ..domain.errors import DomainError
from .actions import ActionRequest, ActionResult, actions, card_field, card_revision, from_outcome
from .requests import person


@actions.verb(Verb.ALERT_HANDLE)
async def handle(request: ActionRequest) -> ActionResult:
    """I'm handling it."""
    desk = request.services.alert_desk
    return from_outcome(await desk.handle(card_field(request.data, "alert"), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.ALERT_DISMISS)
async def dismiss(request: ActionRequest) -> ActionResult:
    """Not impactful, with a reason."""
    desk = request.services.alert_desk
    return from_outcome(await desk.dismiss(card_field(request.data, "alert"), card_revision(request.data), person(request.caller),
                                      str(request.data.get("reason") or "")))


@actions.verb(Verb.ALERT_SNOOZE)
async def snooze(request: ActionRequest) -> ActionResult:
    """Snooze for 1 or 24 hours."""
    try:
        hours = int(request.data.get("hours"))
    except (TypeError, ValueError):
        raise DomainError("This card is out of date.") from None
    desk = request.services.alert_desk
    return from_outcome(await desk.snooze(card_field(request.data, "alert"), card_revision(request.data), person(request.caller), hours))


@actions.verb(Verb.ALERT_TICKET)
async def ticket(request: ActionRequest) -> ActionResult:
    """Create the error's Jira ticket (once)."""
    desk = request.services.alert_desk
    return from_outcome(await desk.ticket(card_field(request.data, "alert"), card_revision(request.data), person(request.caller)))
