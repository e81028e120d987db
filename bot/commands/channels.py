"""`alerts here`, `rotation here`, `requests here` / `requests off`: a lead points the bot at a channel."""

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


@router.command("alerts", usage="alerts here", summary="make this channel the Bugsnag alert channel (leads)", scopes=CHANNEL,
                forms=(r"alerts here",))
async def alerts_here(request: CommandRequest) -> list[Reply]:
    """A lead chooses the channel where Bugsnag alerts are posted."""
    return await _here(request, "alerts", "the Bugsnag alerts", request.services.alert_desk.set_channel,
                       "From now on I'll post Bugsnag alerts in this channel. Alerts that were waiting come next.")


@router.command("rotation", usage="rotation here", summary="post the weekly pick and handover in this channel (leads)",
                scopes=CHANNEL, forms=(r"rotation here",))
async def rotation_here(request: CommandRequest) -> list[Reply]:
    """A lead chooses the channel for the Monday pick and the Wednesday handover."""
    return await _here(request, "rotation", "the Monday pick and the handover", request.services.rotation.set_channel,
                       "From now on the Monday pick and the Wednesday handover are posted here.")


@router.command("requests", usage="requests here | requests off",
                summary="take support requests in this channel, or stop taking them (leads)", scopes=CHANNEL,
                forms=(r"requests (here|on|off)",))
async def requests_here(request: CommandRequest) -> list[Reply]:
    """A lead switches support requests on or off for this channel."""
    choice = request.args.strip().lower()
    if choice not in ("here", "on", "off") or request.address is None or not request.address.channel_id:
        return [Text("Write **requests here** in a channel whose @mentions should be support requests, or "
                     "**requests off** to stop that.")]
    on = choice != "off"
    await request.services.request_channels.switch(request.address.channel_id, on, person(request.caller), request.now)
    if on:
        return [Text("From now on an @mention of me in this channel is a support request: I acknowledge it and page "
                     "the support pair.")]
    return [Text("From now on @mentions of me in this channel are not support requests any more; commands still work.")]
