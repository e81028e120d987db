"""`alerts here`, `rotation here`, `requests here` / `requests off`: a lead points the bot at a channel."""

from __future__ import annotations

from ..core.events import Content, Scope, Text
from ..core.routing import CommandRequest, CommandRouter
from ..services.alerts import AlertDesk
from ..services.channels import RequestChannels
from ..services.rotation import RotationDesk

CHANNEL = frozenset({Scope.CHANNEL})


class ChannelChoices:
    """Where the bot posts alerts and the weekly pick, and which channels take requests; leads choose."""

    def __init__(self, alerts: AlertDesk, rotation: RotationDesk, request_channels: RequestChannels) -> None:
        self._alerts = alerts
        self._rotation = rotation
        self._request_channels = request_channels

    @staticmethod
    async def _here(request: CommandRequest, word: str, what: str, choose, done: str) -> list[Content]:
        if request.args.strip().lower() != "here" or request.address is None:
            return [Text(f"Write **{word} here** in the channel that should get {what}.")]
        await choose(request.address, request.caller)
        return [Text(done)]

    async def alerts_here(self, request: CommandRequest) -> list[Content]:
        """A lead chooses the channel where Bugsnag alerts are posted."""
        return await self._here(request, "alerts", "the Bugsnag alerts", self._alerts.set_channel,
                                "From now on I'll post Bugsnag alerts in this channel. Alerts that were waiting come next.")

    async def rotation_here(self, request: CommandRequest) -> list[Content]:
        """A lead chooses the channel for the Monday pick and the Wednesday handover."""
        return await self._here(request, "rotation", "the Monday pick and the handover", self._rotation.set_channel,
                                "From now on the Monday pick and the Wednesday handover are posted here.")

    async def requests_here(self, request: CommandRequest) -> list[Content]:
        """A lead switches support requests on or off for this channel."""
        choice = request.args.strip().lower()
        if choice not in ("here", "on", "off") or request.address is None or request.scope is not Scope.CHANNEL:
            return [Text("Write **requests here** in a channel whose @mentions should be support requests, or "
                         "**requests off** to stop that.")]
        on = choice != "off"
        await self._request_channels.switch(request.address.place, on, request.caller, request.now)
        if on:
            return [Text("From now on an @mention of me in this channel is a support request: I acknowledge it and "
                         "page the support pair.")]
        return [Text("From now on @mentions of me in this channel are not support requests any more; commands still work.")]

    def register(self, commands: CommandRouter) -> None:
        """Register the three channel commands (channels only)."""
        commands.add("alerts", self.alerts_here, usage="alerts here", summary="make this channel the Bugsnag alert channel (leads)",
                     scopes=CHANNEL, forms=(r"alerts here",))
        commands.add("rotation", self.rotation_here, usage="rotation here",
                     summary="post the weekly pick and handover in this channel (leads)", scopes=CHANNEL,
                     forms=(r"rotation here",))
        commands.add("requests", self.requests_here, usage="requests here | requests off",
                     summary="take support requests in this channel, or stop taking them (leads)", scopes=CHANNEL,
                     forms=(r"requests (here|on|off)",))
