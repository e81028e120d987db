"""Channels a lead chooses for the bot's own posts (alerts, the weekly pick), stored as conversation addresses."""

from __future__ import annotations

from ..domain.requests import Address, NotAllowed, Person
from .ports import ConversationRepository, MemberRepository


async def choose_channel(conversations: ConversationRepository, members: MemberRepository, slot: tuple[str, str],
                         address: Address, who: Person, what: str) -> None:
    """Remember a channel for a purpose; only a lead may choose it."""
    stored = await members.get(who.aad_object_id)
    if stored is None or not stored.value.is_lead:
        raise NotAllowed(f"Only a lead can choose the {what} channel.")
    await conversations.remember(*slot, {
        "serviceUrl": address.service_url, "conversationId": address.conversation_id.split(";")[0],
        "tenantId": address.tenant_id, "channelId": address.channel_id,
    })


async def chosen_channel(conversations: ConversationRepository, slot: tuple[str, str]) -> Address | None:
    """The channel chosen for a purpose, or None."""
    stored = await conversations.get(*slot)
    if not stored:
        return None
    return Address(stored["serviceUrl"], stored["conversationId"], stored.get("tenantId", ""), stored.get("channelId", ""))
