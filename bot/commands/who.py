"""who / next: the current and next support team, as a card that can refresh itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cards.verbs import Verb
from cards.who import who_card

from .actions import ActionRequest, ActionResult, actions
from ..domain.messages import Card, Reply
from .router import CommandRequest, router

if TYPE_CHECKING:
    from ..bootstrap import Services


async def _who_card(services: "Services", now: datetime) -> dict:
    return who_card(await services.lookup.status(now))


@router.command(
    "who",
    summary="who is on support this iteration and next",
    patterns=(
        r"^(who|wer)\b",
        r"\b(on support|hat support|im support|on call|on duty|support pair|supportpaar)\b",
    ),
    forms=(
        r"(who|wer)",
        r"who('s| is|s)?( (on|doing|having|handling))? (support|call|duty)( (today|now|right now|this week|this iteration))?",
        r"wer (hat|macht|ist)( (heute|gerade|jetzt|diese woche))?( im)? (support|dienst|supportdienst|support-dienst)"
        r"( (heute|gerade|jetzt|diese woche))?",
        r"(who is the |wer ist das )?(support pair|supportpaar)",
    ),
)
async def who(request: CommandRequest) -> list[Reply]:
    """Answer with the who card."""
    return [Card(await _who_card(request.services, request.now), summary="Who is on support")]


@router.command("next", summary="the next iteration's team", patterns=(r"^(nächste|naechste)\b",),
                forms=(r"next( (iteration|week|pair|team))?", r"who('s| is) next", r"(nächste|naechste)( (woche|iteration))?",
                       r"wer ist (als )?(nächstes|naechstes)( dran)?"))
async def next_team(request: CommandRequest) -> list[Reply]:
    """The who card shows the next team too."""
    return await who(request)


@actions.verb(Verb.REFRESH_WHO)
async def refresh_who(request: ActionRequest) -> ActionResult:
    """Replace the who card with a fresh one."""
    return ActionResult(card=await _who_card(request.services, request.now))
