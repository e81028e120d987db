"""Proactive messages: post to a thread or channel, update a card, and write 1:1 to a person."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)

from ..config import Settings
from ..domain.messages import Reply
from ..domain.requests import Address, Person
from ..services.ports import ConversationRepository
from .pacing import ConversationPacer
from .render import card_attachment, to_activity
from .sending import with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")


def bot_account(settings: Settings) -> ChannelAccount:
    """The bot as a channel account."""
    return ChannelAccount(id=f"28:{settings.bot_id}" if settings.bot_id else "", name="Support Bot")


def reference_for(address: Address, settings: Settings) -> ConversationReference:
    """A conversation reference rebuilt from a stored address."""
    return ConversationReference(
        channel_id="msteams",
        service_url=address.service_url,
        bot=bot_account(settings),
        conversation=ConversationAccount(
            id=address.conversation_id, tenant_id=address.tenant_id or None,
            conversation_type="channel" if address.channel_id else None,
        ),
    )


def _where(conversation_id: str) -> str:
    """A conversation id short enough for a log line (thread ids repeat the channel's)."""
    return conversation_id if len(conversation_id) <= 100 else conversation_id[:97] + "..."


class TeamsMessenger:
    """The Messenger port on the Bot Framework: continue_conversation, paced per conversation, with retries.

    Every method raises RetryLater when Teams may take the message later and DeliveryFailed when it refused it for
    good; both carry one line naming the person or conversation and Teams' reason.
    """

    def __init__(self, adapter: CloudAdapter, settings: Settings, conversations: ConversationRepository,
                 pacer: ConversationPacer) -> None:
        self._adapter = adapter
        self._settings = settings
        self._conversations = conversations
        self._pacer = pacer

    async def _paced(self, conversation_id: str, send, what: str):
        async with self._pacer.lock(conversation_id):
            await self._pacer.turn(conversation_id)
            return await with_retries(send, what)

    async def _in_turn(self, reference: ConversationReference, work: Callable[[TurnContext], Awaitable[T]]) -> T:
        """Run work inside a proactive turn and hand back its result or its error.

        The adapter passes errors raised in a turn to on_turn_error, which only logs them; a job must see them
        to be retried, so they are carried out of the turn here.
        """
        outcome: dict[str, object] = {}

        async def callback(turn_context: TurnContext) -> None:
            try:
                outcome["value"] = await work(turn_context)
            except Exception as err:  # noqa: BLE001 - re-raised below, outside the adapter's turn
                outcome["error"] = err

        await self._adapter.continue_conversation(reference, callback, self._settings.bot_id)
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("value")  # type: ignore[return-value]

    async def _send(self, reference: ConversationReference, activity: Activity, what: str) -> str:
        async def send(turn_context: TurnContext) -> str:
            response = await self._paced(reference.conversation.id, lambda: turn_context.send_activity(activity), what)
            return response.id if response else ""

        return await self._in_turn(reference, send)

    async def post(self, address: Address, reply: Reply) -> str:
        """Post a message to a conversation (a thread when the id carries ;messageid=); its activity id."""
        return await self._send(reference_for(address, self._settings), to_activity(reply),
                                f"posting to {_where(address.conversation_id)}")

    async def update(self, address: Address, activity_id: str, card: dict) -> None:
        """Replace a card the bot posted earlier, for everyone in the conversation."""
        activity = Activity(type=ActivityTypes.message, id=activity_id, attachments=[card_attachment(card)])
        what = f"updating card {activity_id} in {_where(address.conversation_id)}"

        async def update(turn_context: TurnContext) -> None:
            await self._paced(address.conversation_id, lambda: turn_context.update_activity(activity), what)

        await self._in_turn(reference_for(address, self._settings), update)

    async def direct(self, person: Person, reply: Reply, via: Address) -> str:
        """Write 1:1: through the stored personal chat, else by creating it (the app must be installed for them)."""
        what = f"writing to {person.name or person.aad_object_id}"
        stored = await self._conversations.get("user", person.aad_object_id)
        if stored:
            return await self._send(ConversationReference().deserialize(stored), to_activity(reply), what)
        created: dict[str, ConversationReference] = {}

        async def remember(turn_context: TurnContext) -> None:
            created["reference"] = TurnContext.get_conversation_reference(turn_context.activity)

        parameters = ConversationParameters(
            is_group=False,
            bot=bot_account(self._settings),
            members=[ChannelAccount(id=person.teams_id or person.aad_object_id)],
            tenant_id=via.tenant_id or None,
            channel_data={"tenant": {"id": via.tenant_id}} if via.tenant_id else None,
        )
        await with_retries(
            lambda: self._adapter.create_conversation(
                self._settings.bot_id, remember, parameters, channel_id="msteams", service_url=via.service_url
            ),
            f"{what} (creating the 1:1 chat)",
        )
        reference = created["reference"]
        await self._conversations.remember("user", person.aad_object_id, reference.serialize())
        return await self._send(reference, to_activity(reply), what)
