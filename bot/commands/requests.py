"""Triage card clicks: claim, an outcome, a handbook answer, ask the team, add to handbook, or the override decision."""

from __future__ import annotations

from ..core.events import ActionResult
from ..core.routing import ActionRequest, ActionRouter, card_field, card_revision
from ..core.verbs import Verb
from ..domain.errors import DomainError
from ..domain.requests import Outcome
from ..services.requests import RequestDesk


class TriageClicks:
    """The triage card's buttons, handled by the #backend desk."""

    def __init__(self, desk: RequestDesk) -> None:
        self._desk = desk

    async def claim(self, request: ActionRequest) -> ActionResult:
        """I'm on it."""
        return await self._desk.claim(card_field(request.data, "request"), card_revision(request.data), request.caller)

    async def triage(self, request: ActionRequest) -> ActionResult:
        """One of the outcome forms was submitted."""
        try:
            outcome = Outcome(request.data.get("outcome"))
        except ValueError:
            raise DomainError("This card is out of date. Ask me again for a fresh one.") from None
        return await self._desk.triage(card_field(request.data, "request"), card_revision(request.data), request.caller,
                                       outcome, request.data)

    async def db_confirm(self, request: ActionRequest) -> ActionResult:
        """The second person confirms a database override."""
        return await self._desk.confirm_override(card_field(request.data, "request"), card_revision(request.data),
                                                 request.caller)

    async def db_refuse(self, request: ActionRequest) -> ActionResult:
        """A pending database override is refused."""
        return await self._desk.refuse_override(card_field(request.data, "request"), card_revision(request.data),
                                                request.caller)

    async def send_answer(self, request: ActionRequest) -> ActionResult:
        """Send this answer: a handbook entry goes to the requester."""
        return await self._desk.send_answer(card_field(request.data, "request"), card_revision(request.data),
                                            request.caller, card_field(request.data, "entry"))

    async def ask_team(self, request: ActionRequest) -> ActionResult:
        """Ask the team: support doesn't know the answer."""
        return await self._desk.ask_team(card_field(request.data, "request"), request.caller)

    async def handbook_add(self, request: ActionRequest) -> ActionResult:
        """Add to handbook: the form made from a request is saved as an entry."""
        return await self._desk.add_to_handbook(card_field(request.data, "request"), request.caller, request.data)

    async def same_as(self, request: ActionRequest) -> ActionResult:
        """Same problem as an open request: join its incident."""
        return await self._desk.same_as(card_field(request.data, "request"), card_revision(request.data), request.caller,
                                        card_field(request.data, "root"))

    async def split(self, request: ActionRequest) -> ActionResult:
        """Not the same problem: a grouped request leaves the incident and is paged on its own."""
        return await self._desk.split(card_field(request.data, "request"), card_field(request.data, "child"), request.caller)

    async def send_all(self, request: ActionRequest) -> ActionResult:
        """Send the incident's outcome to every grouped requester."""
        return await self._desk.send_to_all(card_field(request.data, "request"), card_revision(request.data), request.caller)

    def register(self, actions: ActionRouter) -> None:
        """Register the triage card's verbs."""
        for verb, handler in ((Verb.CLAIM, self.claim), (Verb.TRIAGE, self.triage), (Verb.DB_CONFIRM, self.db_confirm),
                              (Verb.DB_REFUSE, self.db_refuse), (Verb.SEND_ANSWER, self.send_answer),
                              (Verb.ASK_TEAM, self.ask_team), (Verb.HANDBOOK_ADD, self.handbook_add),
                              (Verb.INCIDENT_SAME_AS, self.same_as), (Verb.INCIDENT_SPLIT, self.split),
                              (Verb.INCIDENT_SEND_ALL, self.send_all)):
            actions.add(verb, handler)
