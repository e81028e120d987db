"""Channels a lead chooses for the bot's own posts (alerts, the weekly pick) and for requests, stored in Table Storage."""

from __future__ import annotations

import time
from datetime import datetime

from ..domain.policy import Action, Facts, may
from ..domain.address import Address
from ..domain.requests import NotAllowed, Person
from .ports import ConversationRepository, MemberRepository

REQUEST_CHANNELS = "request-channel"
# Every instance reads the registered request channels on a new mention; a short cache keeps that off the
# acknowledgement's path, and a change made on another instance is seen within this time.
REQUEST_CHANNELS_SECONDS = 30.0


async def require_lead(members: MemberRepository, who: Person, action: Action = Action.CHOOSE_CHANNEL) -> None:
    """The permission policy for a lead-only action, from the caller's stored roster row."""
    stored = await members.get(who.aad_object_id)
    facts = Facts({who.aad_object_id: stored.value} if stored else {})
    decision = may(who.aad_object_id, action, facts)
    if not decision:
        raise NotAllowed(decision.reason)


async def choose_channel(conversations: ConversationRepository, members: MemberRepository, slot: tuple[str, str],
                         address: Address, who: Person, what: str) -> None:
    """Remember a channel for a purpose (the channel itself, not the thread it was asked in); only an active lead may."""
    await require_lead(members, who)
    await conversations.remember_address(*slot, address.top())


async def chosen_channel(conversations: ConversationRepository, slot: tuple[str, str]) -> Address | None:
    """The channel chosen for a purpose, or None."""
    return await conversations.address(*slot)


class RequestChannels:
    """Which channels take support requests: the catalogue's, plus what leads switch on or off with `requests here/off`.

    A channel switched off never takes requests; one switched on or configured does. When no channel is
    configured or switched on anywhere, every channel takes requests (a new team's first install just works).
    """

    def __init__(self, conversations: ConversationRepository, members: MemberRepository, configured: frozenset[str],
                 clock=time.monotonic) -> None:
        self._conversations = conversations
        self._members = members
        self._configured = configured
        self._clock = clock
        self._cached: dict[str, str] | None = None
        self._read_at = 0.0

    async def _states(self) -> dict[str, str]:
        if self._cached is None or self._clock() - self._read_at > REQUEST_CHANNELS_SECONDS:
            stored = await self._conversations.list(REQUEST_CHANNELS)
            self._cached = {channel: str(value.get("state", "")) for channel, value in stored.items()}
            self._read_at = self._clock()
        return self._cached

    async def takes_requests(self, channel_id: str) -> bool:
        """True when @mentions in this channel are support requests."""
        states = await self._states()
        state = states.get(channel_id)
        if state == "off":
            return False
        if state == "on" or channel_id in self._configured:
            return True
        return not self._configured and "on" not in states.values()

    async def switch(self, channel_id: str, on: bool, who: Person, at: datetime) -> None:
        """A lead switches requests in this channel on or off."""
        await require_lead(self._members, who)
        await self._conversations.remember(REQUEST_CHANNELS, channel_id, {
            "state": "on" if on else "off", "by": who.name, "at": at.isoformat()})
        self._cached = None
