"""`alerts here` and `rotation here`: a lead points the bot's own posts at a channel."""

from __future__ import annotations

from ..domain.messages import Reply, Text
from .requests import person
from .router import CommandRequest, Scope, router

CHANNEL = frozenset({Scope.CHANNEL})


async def _here(request: CommandRequest, word: str, what: str, choose, done: str) -> list[Reply]:
    if request.args.strip().lower() != "here" or request.address is None:
        return [Text(f"Write **{word} here** in the channel that should get {what}.")]
    await choose(request.address, person(request.caller))
    return [Text(done)]


@router.command("alerts", usage="alerts here", summary="make this channel the Bugsnag alert channel (leads)", scopes=CHANNEL)
async def alerts_here(request: CommandRequest) -> list[Reply]:
    """A lead chooses the channel where Bugsnag alerts are posted."""
    return await _here(request, "alerts", "the Bugsnag alerts", request.services.alert_desk.set_channel,
                       "From now on I'll post Bugsnag alerts in this channel. Alerts that were waiting come next.")


@router.command("rotation", usage="rotation here", summary="post the weekly pick and handover in this channel (leads)",
                scopes=CHANNEL)
async def rotation_here(request: CommandRequest) -> list[Reply]:
    """A lead chooses the channel for the Monday pick and the Wednesday handover."""
    return await _here(request, "rotation", "the Monday pick and the handover", request.services.rotation.set_channel,
                       "From now on the Monday pick and the Wednesday handover are posted here.")
