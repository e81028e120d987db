"""The activity handler: turns Teams activities into command and card-action requests."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from botbuilder.schema.teams import TeamsChannelData

from ..commands.actions import STALE, ActionRequest, ActionResult, actions
from ..commands.help import unknown_hint
from ..domain.messages import Reply, Text
from ..commands.router import Caller, CommandRequest, Scope, router
from ..domain.errors import DeliveryFailed, DomainError, StorageUnavailable
from ..domain.jobs import RetryLater
from ..domain.messages import Mention
from ..domain.requests import Address, Person
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


class SupportBot(ActivityHandler):
    """Answers messages, card clicks and installs."""

    def __init__(self, services: "Services", pacer: ConversationPacer) -> None:
        self._services = services
        self._pacer = pacer

    async def _send(self, turn_context: TurnContext, replies: list[Reply]) -> None:
        conversation = turn_context.activity.conversation.id
        what = f"replying to {recipient_of(turn_context.activity)}"
        for reply in replies:
            activity = to_activity(reply)
            async with self._pacer.lock(conversation):
                await self._pacer.turn(conversation)
                await with_retries(lambda: turn_context.send_activity(activity), what)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        """Route a message: commands, a support request in a request channel, or a thread reply."""
        activity = turn_context.activity
        if activity.value and isinstance(activity.value, dict) and not (activity.text or "").strip():
            await self._submit_fallback(turn_context, activity.value)
            return
        scope = scope_of(activity)
        if scope is not Scope.PERSONAL and not mentions_bot(activity):
            # With the RSC permission every channel message arrives; only thread replies matter.
            await self._thread_reply(turn_context)
            return
        text = TurnContext.remove_recipient_mention(activity) if scope is not Scope.PERSONAL else activity.text
        text = (text or "").strip()
        match = router.match(text, scope)
        if match is not None:
            command, args = match
            request = CommandRequest(caller_of(activity), scope, text, args, self._services.clock(), self._services,
                                     address_of(activity))
            await self._send(turn_context, await self._guarded(command.handler(request)))
        elif scope is Scope.CHANNEL and self._services.desk.catalogue.is_request_channel(channel_of(activity)):
            await self._open_request(turn_context, text)
        else:
            await self._send(turn_context, [unknown_hint(scope)])
        if scope is Scope.PERSONAL:
            await self._remember_personal(turn_context)

    async def _open_request(self, turn_context: TurnContext, text: str) -> None:
        """Record the request, acknowledge it in the thread at once, then page in the background."""
        activity = turn_context.activity
        caller = caller_of(activity)
        requester = Person(caller.aad_object_id, caller.name or "there", caller.teams_id)
        if not text:
            mention = Mention(requester.mention_id, requester.name)
            await self._send(turn_context, [Text(f"Hi {mention.tag}, what's the problem? Describe it in one message "
                                                 "with me mentioned, and I'll page the support pair.", (mention,))])
            return
        desk = self._services.desk
        address = address_of(activity)
        try:
            opened = await desk.open(message_id=activity.id, address=address, requester=requester, text=text,
                                     received_at=self._services.clock())
        except StorageUnavailable:
            log.warning("could not record a request", exc_info=True)
            await self._send(turn_context, [Text("I couldn't record this request because my storage is down. "
                                                 "Please page the support pair directly; I'm sorry.")])
            return
        if opened is None:
            return  # Teams delivered the same message again; it was acknowledged the first time
        request, paging = opened
        await self._send(turn_context, [desk.ack(request)])
        paging.start(acked_at=self._services.clock().isoformat())
        log.info("support request acknowledged")

    async def _thread_reply(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        root = activity.conversation.id.partition(";messageid=")[2]
        if not root or root == activity.id or not self._services.desk:
            return
        caller = caller_of(activity)
        try:
            await self._services.desk.thread_reply(root, Person(caller.aad_object_id, caller.name, caller.teams_id), self._services.clock())
        except DomainError:
            log.warning("could not record a thread reply", exc_info=True)

    async def _guarded(self, work) -> list[Reply]:
        """Run a handler; domain errors become a plain answer instead of an apology."""
        try:
            return await work
        except StorageUnavailable:
            log.warning("storage unavailable while handling a command", exc_info=True)
            return [Text("I can't reach the rotation data right now. Nothing was changed; please try again in a minute.")]
        except DomainError as err:
            return [Text(str(err))]

    async def _run_action(self, turn_context: TurnContext, data: dict) -> ActionResult:
        verb = actions.parse(data.get("verb"))
        handler = actions.handler(verb) if verb else None
        if handler is None:
            return STALE
        activity = turn_context.activity
        request = ActionRequest(
            caller_of(activity), scope_of(activity), verb, data, self._services.clock(), self._services,
            activity.reply_to_id or "", address_of(activity),
        )
        try:
            return await handler(request)
        except StorageUnavailable:
            log.warning("storage unavailable while handling %s", verb.value, exc_info=True)
            return ActionResult(note="I can't reach the rotation data right now. Nothing was changed; please try again.")
        except DomainError as err:
            return ActionResult(note=str(err))

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
        await self._send(turn_context, result.replies)
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
        if result.note:
            await self._send(turn_context, [Text(result.note)])
        await self._send(turn_context, result.replies)

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
