"""The alert card's buttons."""

from __future__ import annotations

from ..core.events import ActionResult
from ..core.routing import ActionRequest, ActionRouter, card_field, card_revision
from ..core.verbs import Verb
from ..domain.errors import DomainError
from ..services.alerts import AlertDesk


class AlertClicks:
    """The alert card's buttons, handled by the alert desk."""

    def __init__(self, desk: AlertDesk) -> None:
        self._desk = desk

    async def handle(self, request: ActionRequest) -> ActionResult:
        """I'm handling it."""
        return await self._desk.handle(card_field(request.data, "alert"), card_revision(request.data), request.caller)

    async def dismiss(self, request: ActionRequest) -> ActionResult:
        """Not impactful, with a reason."""
        return await self._desk.dismiss(card_field(request.data, "alert"), card_revision(request.data), request.caller,
                                        str(request.data.get("reason") or ""))

    async def snooze(self, request: ActionRequest) -> ActionResult:
        """Snooze for 1 or 24 hours."""
        try:
            hours = int(request.data.get("hours"))
        except (TypeError, ValueError):
            raise DomainError("This card is out of date.") from None
        return await self._desk.snooze(card_field(request.data, "alert"), card_revision(request.data), request.caller, hours)

    async def ticket(self, request: ActionRequest) -> ActionResult:
        """Create the error's Jira ticket (once)."""
        return await self._desk.ticket(card_field(request.data, "alert"), card_revision(request.data), request.caller)

    def register(self, actions: ActionRouter) -> None:
        """Register the alert card's verbs."""
        for verb, handler in ((Verb.ALERT_HANDLE, self.handle), (Verb.ALERT_DISMISS, self.dismiss),
                              (Verb.ALERT_SNOOZE, self.snooze), (Verb.ALERT_TICKET, self.ticket)):
            actions.add(verb, handler)
