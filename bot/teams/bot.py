"""The activity handler: turns Teams activities into command and card-action requests."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from botbuilder.schema.teams import TeamsChannelData

from ..commands.actions import ActionResult
from ..commands.router import Caller, Scope
from ..core.app import SupportApp
from ..core.inbound import CardAction, Message
from ..domain.errors import DeliveryFailed, DomainError, StorageUnavailable
from ..domain.jobs import RetryLater
from ..domain.messages import Reply, Text
from ..domain.requests import Address
from .http import tenant_of
from .pacing import ConversationPacer
from .render import ADAPTIVE_CARD, card_attachment, to_activity
from .sending import with_retries

if TYPE_CHECKING:
    from ..bootstrap import Services

log = logging.getLogger(__name__)

GREETING_PERSONAL = (
    "Hi, I'm the support-rotation bot. Ask me **who** is on support, or write **help** for everything I can do."
)
GREETING_TEAM = (
    "Hi team, I'm the support-rotation bot. @mention me in #backend with an urgent request and I'll page "
    "the support pair; @mention me with **help** to see what else I do."
)


def scope_of(activity: Activity) -> Scope:
    """Where an activity was written."""
    kind = (activity.conversation.conversation_type if activity.conversation else None) or "personal"
    try:
        return Scope(kind)
    except ValueError:
        return Scope.PERSONAL


def mentions_bot(activity: Activity) -> bool:
    """True when the message @mentions the bot (read from entities, as Teams sends them)."""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == bot_id:
            return True
    return False


def channel_of(activity: Activity) -> str:
    """The channel id of a channel message ('' elsewhere)."""
    if scope_of(activity) is not Scope.CHANNEL:
        return ""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return (data.get("channel") or {}).get("id") or data.get("teamsChannelId") or activity.conversation.id.partition(";")[0]


def address_of(activity: Activity) -> Address:
    """Where the activity was written, for replies later on."""
    return Address(activity.service_url, activity.conversation.id, tenant_of(activity), channel_of(activity))


def recipient_of(activity: Activity) -> str:
    """Whom a reply to this activity reaches, for log lines: the person in personal chat, else the conversation."""
    if scope_of(activity) is Scope.PERSONAL and activity.from_property and activity.from_property.name:
        return activity.from_property.name
    return f"conversation {activity.conversation.id[:100]}"


def caller_of(activity: Activity) -> Caller:
    """The person behind an activity."""
    sender = activity.from_property or ChannelAccount(id="", name="")
    return Caller(aad_object_id=(sender.aad_object_id or "").lower(), name=sender.name or "", teams_id=sender.id or "")


class _Turn:
    """The core's Turn on botbuilder: replies to the activity's conversation, paced."""

    def __init__(self, bot: "SupportBot", turn_context: TurnContext) -> None:
        self._bot = bot
        self._turn_context = turn_context

    async def send(self, replies: list[Reply]) -> None:
        """Send the replies in order."""
        await self._bot._send(self._turn_context, replies)


class SupportBot(ActivityHandler):
    """Answers messages, card clicks and installs."""

    def __init__(self, services: "Services", pacer: ConversationPacer, app: SupportApp) -> None:
        self._services = services
        self._pacer = pacer
        self._app = app

    async def _send(self, turn_context: TurnContext, replies: list[Reply]) -> None:
        conversation = turn_context.activity.conversation.id
        what = f"replying to {recipient_of(turn_context.activity)}"
        for reply in replies:
            activity = to_activity(reply)
            async with self._pacer.lock(conversation):
                await self._pacer.turn(conversation)
                await with_retries(lambda: turn_context.send_activity(activity), what)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Hand the message to the core (commands, requests, thread replies); Action.Submit goes to the card actions."""
        activity = turn_context.activity
        if activity.value and isinstance(activity.value, dict) and not (activity.text or "").strip():
            await self._submit_fallback(turn_context, activity.value)
            return
        scope = scope_of(activity)
        mentioned = scope is Scope.PERSONAL or mentions_bot(activity)
        text = TurnContext.remove_recipient_mention(activity) if scope is not Scope.PERSONAL and mentioned else activity.text
        message = Message(
            id=activity.id or "", sender=caller_of(activity), scope=scope, text=(text or "").strip(), mentioned=mentioned,
            address=address_of(activity), at=self._services.clock(),
            thread_root=activity.conversation.id.partition(";messageid=")[2] if scope is Scope.CHANNEL else "",
        )
        await self._app.on_message(message, _Turn(self, turn_context))
        if scope is Scope.PERSONAL:
            await self._remember_personal(turn_context)

    async def _run_action(self, turn_context: TurnContext, data: dict) -> ActionResult:
        activity = turn_context.activity
        return await self._app.on_action(CardAction(caller_of(activity), scope_of(activity), data,
                                                    activity.reply_to_id or "", address_of(activity), self._services.clock()))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """Action.Execute answers with the replacement card or a short note; other invokes as the SDK does."""
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = dict(action.get("data") or {}) if isinstance(action.get("data"), dict) else {}
        data["verb"] = action.get("verb")
        result = await self._run_action(turn_context, data)
        if result.update_in_place and result.card is not None:
            await self._update_card(turn_context, result.card)
        await self._app.deliver(_Turn(self, turn_context), result.replies, address_of(turn_context.activity),
                                f"click|{turn_context.activity.id}")
        # A plain dict body: the SDK's AdaptiveCardInvokeResponse cannot carry a text note.
        if result.card is not None:
            body = {"statusCode": 200, "type": ADAPTIVE_CARD, "value": result.card}
        else:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": result.note or "Done."}
        return InvokeResponse(status=200, body=body)

    async def _submit_fallback(self, turn_context: TurnContext, value: dict) -> None:
        """Action.Submit (clients without Universal Actions): update the card in place or answer."""
        result = await self._run_action(turn_context, value)
        if result.card is not None:
            await self._update_card(turn_context, result.card)
        replies = ([Text(result.note)] if result.note else []) + list(result.replies)
        await self._app.deliver(_Turn(self, turn_context), replies, address_of(turn_context.activity),
                                f"click|{turn_context.activity.id}")

    async def _update_card(self, turn_context: TurnContext, card: dict) -> None:
        """Replace the clicked card for everyone in the conversation."""
        message_id = turn_context.activity.reply_to_id
        if not message_id:
            return
        update = Activity(type=ActivityTypes.message, id=message_id, attachments=[card_attachment(card)])
        try:
            await with_retries(lambda: turn_context.update_activity(update),
                               f"updating card {message_id} for {recipient_of(turn_context.activity)}")
        except (RetryLater, DeliveryFailed) as err:
            # The clicker still gets the card in the invoke response.
            log.warning("could not update the card in place: %s", err)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """Installed personally or in a team: remember where, and greet once."""
        await self._installed(turn_context)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        """The bot itself was added to a conversation: the same as an install."""
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(m.id == bot_id for m in members_added):
            await self._installed(turn_context)

    async def _installed(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        reference = TurnContext.get_conversation_reference(activity).serialize()
        scope = scope_of(activity)
        if scope is Scope.PERSONAL:
            kind, ref_key = "user", caller_of(activity).aad_object_id or activity.conversation.id
        else:
            channel_data = TeamsChannelData().deserialize(activity.channel_data or {})
            team_id = channel_data.team.id if channel_data.team else None
            kind, ref_key = ("team", team_id) if team_id else ("chat", activity.conversation.id)
        is_new = await self._services.conversations.remember(kind, ref_key, reference)
        if is_new:
            await self._send(turn_context, [Text(GREETING_PERSONAL if scope is Scope.PERSONAL else GREETING_TEAM)])

    async def _remember_personal(self, turn_context: TurnContext) -> None:
        caller = caller_of(turn_context.activity)
        if not caller.aad_object_id:
            return
        try:
            reference = TurnContext.get_conversation_reference(turn_context.activity).serialize()
            await self._services.conversations.remember("user", caller.aad_object_id, reference)
        except DomainError:
            log.warning("could not store the personal conversation reference", exc_info=True)
