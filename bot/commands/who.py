"""who / next: the current and next support team, as a card that can refresh itself."""

from __future__ import annotations

from datetime import datetime

from ..core.events import ActionResult, Card, Content
from ..core.routing import ActionRequest, ActionRouter, CommandRequest, CommandRouter
from ..core.verbs import Verb
from ..core.views import WhoView
from ..services.support import SupportLookup

WHO_PATTERNS = (
    r"^(who|wer)\b",
    r"\b(on support|hat support|im support|on call|on duty|support pair|supportpaar)\b",
)
WHO_FORMS = (
    r"(who|wer)",
    r"who('s| is|s)?( (on|doing|having|handling))? (support|call|duty)( (today|now|right now|this week|this iteration))?",
    r"wer (hat|macht|ist)( (heute|gerade|jetzt|diese woche))?( im)? (support|dienst|supportdienst|support-dienst)"
    r"( (heute|gerade|jetzt|diese woche))?",
    r"(who is the |wer ist das )?(support pair|supportpaar)",
)
NEXT_FORMS = (r"next( (iteration|week|pair|team))?", r"who('s| is) next", r"(nächste|naechste)( (woche|iteration))?",
              r"wer ist (als )?(nächstes|naechstes)( dran)?")


class Who:
    """The who card: this iteration's team, today's duty, the next team."""

    def __init__(self, lookup: SupportLookup) -> None:
        self._lookup = lookup

    async def _card(self, now: datetime) -> Card:
        return Card(WhoView(await self._lookup.status(now)), summary="Who is on support")

    async def who(self, request: CommandRequest) -> list[Content]:
        """Answer with the who card (`next` too: the card shows the next iteration)."""
        return [await self._card(request.now)]

    async def refresh(self, request: ActionRequest) -> ActionResult:
        """Replace the who card with a fresh one."""
        return ActionResult(card=await self._card(request.now))

    def register(self, commands: CommandRouter, actions: ActionRouter) -> None:
        """Register `who`, `next` and the card's Refresh."""
        commands.add("who", self.who, summary="who is on support this iteration and next", patterns=WHO_PATTERNS,
                     forms=WHO_FORMS)
        commands.add("next", self.who, summary="the next iteration's team", patterns=(r"^(nächste|naechste)\b",),
                     forms=NEXT_FORMS)
        actions.add(Verb.REFRESH_WHO, self.refresh)
