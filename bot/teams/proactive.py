"""Proactive effects on botbuilder: post to a thread or channel, update a card, and write 1:1 to a person."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationParameters, ConversationReference

from ..config import Settings
from ..core.events import Content, Direct, Post, Priority, Update
from ..domain.address import Address
from ..services.ports import ConversationRepository
from ..web.activities import outgoing, updated_card
from ..web.pacing import ConversationPacer
from ..web.references import address as address_for, reference, thread_link
from .activity import to_activity
from .sending import with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")


def bot_account(settings: Settings) -> ChannelAccount:
    """The bot as a channel account."""
    return ChannelAccount(id=f"28:{settings.bot_id}" if settings.bot_id else "", name="Support Bot")


def conversation_reference(where: Address, settings: Settings) -> ConversationReference:
    """The botbuilder reference of an address."""
    ref = reference(where)
    return ConversationReference(
        channel_id="msteams", service_url=ref.service_url, bot=bot_account(settings),
        conversation=ConversationAccount(id=ref.conversation_id, tenant_id=ref.tenant_id or None,
                                         conversation_type=ref.kind or None),
    )


def _where(where: Address) -> str:
    """The conversation, short enough for a log line."""
    name = where.place + (f" thread {where.thread}" if where.thread else "")
    return name if len(name) <= 100 else name[:97] + "..."


class TeamsMessenger:
    """The Messenger port on botbuilder: continue_conversation, paced per conversation, with the shared retry rules.

    `send` raises RetryLater when Teams may take the message later and DeliveryFailed when it refused it for good;
    both carry one line naming the person or conversation and Teams' reason.
    """

    def __init__(self, adapter: CloudAdapter, settings: Settings, conversations: ConversationRepository,
                 pacer: ConversationPacer) -> None:
        self._adapter = adapter
        self._settings = settings
        self._conversations = conversations
        self._pacer = pacer

    def link(self, where: Address, message_id: str) -> str:
        """A Teams deep link to a message."""
        return thread_link(where, message_id)

    async def send(self, effect: Post | Update | Direct) -> str:
        """Carry out a proactive effect; the new message's id for a post ('' for an update)."""
        if isinstance(effect, Post):
            return await self._post(effect.to, effect.content, effect.priority, f"posting to {_where(effect.to)}")
        if isinstance(effect, Update):
            await self._update(effect)
            return ""
        return await self._direct(effect)

    async def _paced(self, where: Address, send, what: str, priority: Priority):
        async with self._pacer.slot(where, priority):
            return await with_retries(send, what)

    async def _in_turn(self, where: Address, work: Callable[[TurnContext], Awaitable[T]]) -> T:
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

        await self._adapter.continue_conversation(conversation_reference(where, self._settings), callback,
                                                  self._settings.bot_id)
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("value")  # type: ignore[return-value]

    async def _post(self, where: Address, content: Content, priority: Priority, what: str) -> str:
        activity = to_activity(outgoing(content))

        async def send(turn_context: TurnContext) -> str:
            response = await self._paced(where, lambda: turn_context.send_activity(activity), what, priority)
            return response.id if response else ""

        return await self._in_turn(where, send)

    async def _update(self, effect: Update) -> None:
        activity = to_activity(updated_card(effect.card_id, effect.card))
        what = f"updating card {effect.card_id} in {_where(effect.at)}"

        async def update(turn_context: TurnContext) -> None:
            await self._paced(effect.at, lambda: turn_context.update_activity(activity), what, effect.priority)

        await self._in_turn(effect.at, update)

    async def _direct(self, effect: Direct) -> str:
        """Write 1:1: through the stored personal chat, else by creating it (the app must be installed for them)."""
        person, what = effect.to, f"writing to {effect.to.name or effect.to.aad_object_id}"
        stored = await self._conversations.address("user", person.aad_object_id)
        if stored:
            return await self._post(stored, effect.content, Priority.PAGE, what)
        created: dict[str, Activity] = {}

        async def remember(turn_context: TurnContext) -> None:
            created["activity"] = turn_context.activity

        via = reference(effect.via)
        parameters = ConversationParameters(
            is_group=False, bot=bot_account(self._settings), members=[ChannelAccount(id=person.teams_id or person.aad_object_id)],
            tenant_id=via.tenant_id or None, channel_data={"tenant": {"id": via.tenant_id}} if via.tenant_id else None,
        )
        # Creating the chat is a request to Teams like a send: it takes its place in the app's budget (and Teams
        # limits it per conversation too), so a rush of first pages never goes over 50 requests a second.
        async with self._pacer.slot(Address("", f"new 1:1 chat|{person.aad_object_id}"), Priority.PAGE):
            await with_retries(
                lambda: self._adapter.create_conversation(self._settings.bot_id, remember, parameters,
                                                          channel_id="msteams", service_url=via.service_url),
                f"{what} (creating the 1:1 chat)",
            )
        activity = created["activity"]
        chat = address_for(activity.service_url, activity.conversation.id, via.tenant_id, "personal")
        await self._conversations.remember_address("user", person.aad_object_id, chat)
        return await self._post(chat, effect.content, Priority.PAGE, what)
