"""Proactive messages: post to a thread or channel, update a card, and write 1:1 to a person."""

from __future__ import annotations

import contextlib
import logging

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError

from ..config import Settings
from ..domain.errors import DeliveryFailed
from ..domain.jobs import RetryLater
from ..domain.messages import Reply
from ..domain.retry import RETRYABLE_STATUS
from ..domain.requests import Address, Person
from ..services.ports import ConversationRepository
from .pacing import ConversationPacer
from .render import card_attachment, to_activity
from .sending import with_retries

log = logging.getLogger(__name__)


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


@contextlib.asynccontextmanager
async def _delivery(what: str):
    """Connector failures as domain errors: transient ones are retried later, refusals are final."""
    try:
        yield
    except ErrorResponseException as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in RETRYABLE_STATUS or status is None:
            raise RetryLater(f"{what}: Teams answered {status}") from err
        raise DeliveryFailed(f"{what}: Teams refused it ({status})") from err
    except ClientRequestError as err:
        raise RetryLater(f"{what}: Teams could not be reached") from err


class TeamsMessenger:
    """The Messenger port on the Bot Framework: continue_conversation, paced per conversation, with retries."""

    def __init__(self, adapter: CloudAdapter, settings: Settings, conversations: ConversationRepository,
                 pacer: ConversationPacer) -> None:
        self._adapter = adapter
        self._settings = settings
        self._conversations = conversations
        self._pacer = pacer

    async def _paced(self, conversation_id: str, send):
        async with self._pacer.lock(conversation_id):
            await self._pacer.turn(conversation_id)
            return await with_retries(send, f"sending to {conversation_id[:40]}")

    async def _continue(self, reference: ConversationReference, activity: Activity) -> str:
        result: dict[str, str] = {}

        async def callback(turn_context: TurnContext) -> None:
            response = await self._paced(reference.conversation.id, lambda: turn_context.send_activity(activity))
            result["id"] = response.id if response else ""

        await self._proactive(reference, callback)
        return result.get("id", "")

    async def _proactive(self, reference: ConversationReference, callback) -> None:
        """continue_conversation, with the callback's failure raised here for _delivery to judge.

        The adapter hands a failing turn to on_turn_error, which logs it and returns: a refused or throttled
        proactive send would look delivered, and its job would never retry or park.
        """
        failures: list[Exception] = []

        async def guarded(turn_context: TurnContext) -> None:
            try:
                await callback(turn_context)
            except Exception as err:  # noqa: BLE001 - carried out of the adapter and raised below
                failures.append(err)

        await self._adapter.continue_conversation(reference, guarded, self._settings.bot_id)
        if failures:
            raise failures[0]

    async def post(self, address: Address, reply: Reply) -> str:
        """Post a message to a conversation (a thread when the id carries ;messageid=); its activity id."""
        async with _delivery("posting"):
            return await self._continue(reference_for(address, self._settings), to_activity(reply))

    async def update(self, address: Address, activity_id: str, card: dict) -> None:
        """Replace a card the bot posted earlier, for everyone in the conversation."""
        reference = reference_for(address, self._settings)
        activity = Activity(type=ActivityTypes.message, id=activity_id, attachments=[card_attachment(card)])

        async def callback(turn_context: TurnContext) -> None:
            await self._paced(address.conversation_id, lambda: turn_context.update_activity(activity))

        async with _delivery("updating a card"):
            await self._proactive(reference, callback)

    async def direct(self, person: Person, reply: Reply, via: Address) -> str:
        """Write 1:1: through the stored personal chat, else by creating it (the app must be installed for them)."""
        stored = await self._conversations.get("user", person.aad_object_id)
        activity = to_activity(reply)
        if stored:
            async with _delivery(f"writing to {person.name}"):
                return await self._continue(ConversationReference().deserialize(stored), activity)
        result: dict[str, str] = {}

        async def callback(turn_context: TurnContext) -> None:
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            await self._conversations.remember("user", person.aad_object_id, reference.serialize())
            response = await self._paced(reference.conversation.id, lambda: turn_context.send_activity(activity))
            result["id"] = response.id if response else ""

        parameters = ConversationParameters(
            is_group=False,
            bot=bot_account(self._settings),
            members=[ChannelAccount(id=person.teams_id or person.aad_object_id)],
            tenant_id=via.tenant_id or None,
            channel_data={"tenant": {"id": via.tenant_id}} if via.tenant_id else None,
        )
        async with _delivery(f"writing to {person.name}"):
            await with_retries(
                lambda: self._adapter.create_conversation(
                    self._settings.bot_id, callback, parameters, channel_id="msteams", service_url=via.service_url
                ),
                "creating a 1:1 chat",
            )
        return result.get("id", "")
