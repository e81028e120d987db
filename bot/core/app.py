"""The one entry point: an inbound event in, outbound effects out.

Adapters hand `SupportApp.handle` a Message, a CardAction or an Installed event together with a Turn (where
the effects of that event go: replies and card updates in its conversation); it answers an invoke with an
Answer. Routing lives here: whether a message is a command, a new support request or part of a request's
thread, and the acknowledge-then-page sequence.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Awaitable, Callable, Protocol

from ..commands.help import unknown_hint
from ..domain.errors import DomainError, StorageUnavailable
from ..services.channels import RequestChannels
from ..services.outbox import Outbox
from ..services.ports import ConversationRepository
from ..services.requests import RECORD_RETRY_SECONDS, RequestDesk
from .events import (
    ActionResult, Answer, CardAction, Content, Effect, Inbound, Installed, Mention, Message, Reply, Scope, Text,
    UpdateCard,
)
from .routing import STALE, ActionRequest, ActionRouter, CommandRequest, CommandRouter

log = logging.getLogger(__name__)
STORAGE_DOWN = "I can't reach the rotation data right now. Nothing was changed; please try again in a minute."
RECORD_LATER = (
    f"My storage is down, so I couldn't record this request yet. I'll page support in this thread as soon as it's "
    f"back; if no page appears here within {RECORD_RETRY_SECONDS // 60} minutes, please page the support pair directly."
)
GREETING_PERSONAL = (
    "Hi, I'm the support-rotation bot. Ask me **who** is on support, or write **help** for everything I can do."
)
GREETING_TEAM = (
    "Hi team, I'm the support-rotation bot. @mention me in #backend with an urgent request and I'll page "
    "the support pair; @mention me with **help** to see what else I do."
)


class Turn(Protocol):
    """Where the effects of one inbound event go: replies and card updates in its conversation, in order.

    `apply` returns the id of a message it posted ('' for an update); it raises RetryLater when Teams can't
    take it now and DeliveryFailed when Teams refused it for good.
    """

    async def apply(self, effect: Effect) -> str: ...


async def guarded(work: Awaitable[list[Content]]) -> list[Content]:
    """Run a command handler; domain errors become a plain answer instead of an apology."""
    try:
        return await work
    except StorageUnavailable:
        log.warning("storage unavailable while handling a command", exc_info=True)
        return [Text(STORAGE_DOWN)]
    except DomainError as err:
        return [Text(str(err))]


class SupportApp:
    """Owns the command and card-action routers (handlers are registered on them explicitly) and routes events.

    Messages, in order:
    1. In a request's thread every message belongs to that request, mentioned or not (unless the whole
       message is a command): support's reply is the first response, anyone else's a follow-up.
    2. A message that doesn't mention the bot is not for it (channels deliver every message to the bot).
    3. In a request channel a message is a command only when the whole message is one; anything else is a
       request. Elsewhere, commands are recognised by their first word (and natural variants in personal chat).
    """

    def __init__(self, *, desk: RequestDesk, request_channels: RequestChannels, outbox: Outbox,
                 conversations: ConversationRepository, clock: Callable[[], datetime]) -> None:
        self.commands = CommandRouter()
        self.actions = ActionRouter()
        self._desk = desk
        self._request_channels = request_channels
        self._outbox = outbox
        self._conversations = conversations
        self._clock = clock

    async def handle(self, event: Inbound, turn: Turn) -> Answer | None:
        """Turn one inbound event into its effects; an invoke gets its Answer."""
        if isinstance(event, Message):
            await self._on_message(event, turn)
            return None
        if isinstance(event, CardAction):
            return await self._on_action(event, turn)
        await self._on_installed(event, turn)
        return None

    # ------------------------------------------------------------------ messages

    async def _reply(self, turn: Turn, replies: list[Content], event: Message | CardAction, key: str) -> None:
        """Answer in the event's conversation; what Teams can't take now is sent later, not lost."""
        await self._outbox.deliver(turn.apply, replies, event.address, key)

    async def _on_message(self, message: Message, turn: Turn) -> None:
        key = f"reply|{message.id}"
        if message.scope is Scope.CHANNEL and message.in_reply:
            if await self._in_request_thread(message, turn):
                return
        if message.scope is not Scope.PERSONAL and not message.mentioned:
            return
        request_channel = message.scope is Scope.CHANNEL and await self._takes_requests(message)
        match = (self.commands.match_whole(message.text, message.scope) if request_channel
                 else self.commands.match(message.text, message.scope))
        if match is not None:
            command, args = match
            request = CommandRequest(message.sender, message.scope, message.text, args, message.at, message.address)
            await self._reply(turn, await guarded(command.handler(request)), message, key)
        elif request_channel:
            await self._open_request(message, turn)
        else:
            await self._reply(turn, [unknown_hint(message.scope)], message, key)
        if message.scope is Scope.PERSONAL:
            await self._remember_personal(message)

    async def _takes_requests(self, message: Message) -> bool:
        try:
            return await self._request_channels.takes_requests(message.address.place)
        except StorageUnavailable:
            # Better a request too many than a lost one: with storage down, treat the mention as a request.
            return True

    async def _in_request_thread(self, message: Message, turn: Turn) -> bool:
        """Handle a message in a request's thread; False when the thread is not a request's."""
        if message.mentioned and self.commands.match_whole(message.text, message.scope) is not None:
            return False  # a command asked inside the thread is answered as a command
        try:
            replies = await self._desk.thread_message(message.address.thread, message.sender, message.text,
                                                      message.mentioned, message.at)
        except StorageUnavailable:
            log.warning("could not read the thread's request", exc_info=True)
            if message.mentioned:
                await self._reply(turn, [Text(STORAGE_DOWN)], message, f"reply|{message.id}")
            return True
        except DomainError:
            log.warning("could not record a thread message", exc_info=True)
            return True
        if replies is None:
            return False
        await self._reply(turn, replies, message, f"reply|{message.id}")
        return True

    async def _open_request(self, message: Message, turn: Turn) -> None:
        """Record the request, acknowledge it in the thread at once, then page in the background."""
        requester = replace(message.sender, name=message.sender.name or "there")
        key = f"reply|{message.id}"
        if not message.text:
            mention = Mention(requester.mention_id, requester.name)
            await self._reply(turn, [Text(f"Hi {mention.tag}, what's the problem? Describe it in one message with me "
                                          "mentioned, and I'll page the support pair.", (mention,))], message, key)
            return
        try:
            opened = await self._desk.open(message_id=message.address.thread or message.id, address=message.address,
                                           requester=requester, text=message.text, received_at=message.at)
        except StorageUnavailable:
            # An earlier delivery of this message may have been stored, and storage may be back soon: either way a
            # page can still come, so the requester is told to page directly only if none comes.
            log.warning("could not record a request; trying again in the background", exc_info=True)
            self._desk.record_later(message_id=message.address.thread or message.id, address=message.address,
                                    requester=requester, text=message.text, received_at=message.at)
            await self._reply(turn, [Text(RECORD_LATER)], message, key)
            return
        if opened is None:
            return  # Teams delivered the same message again; it was acknowledged the first time
        sent = False
        try:
            # The acknowledgement is the page: one message mentions the requester and today's duty. When Teams
            # can't take it now, the paging job posts it, before the card, with the request's own retries.
            sent = await self._outbox.send_now(turn.apply, opened.ack)
        finally:
            # The rest (the card, the watch, the 1:1s) never waits on, or fails with, the acknowledgement's delivery.
            opened.start(self._clock() if sent else None)
        log.info("support request acknowledged" + (" (grouped into an incident)" if opened.incident else ""))

    async def _remember_personal(self, message: Message) -> None:
        """Keep the personal chat's address, so 1:1 messages reach this person later."""
        if not message.sender.aad_object_id:
            return
        try:
            await self._conversations.remember_address("user", message.sender.aad_object_id, message.address)
        except DomainError:
            log.warning("could not store the personal conversation's address", exc_info=True)

    # ------------------------------------------------------------------ card clicks

    async def _run(self, action: CardAction) -> ActionResult:
        verb = self.actions.parse(action.data.get("verb"))
        handler = self.actions.handler(verb) if verb else None
        if handler is None:
            return STALE
        request = ActionRequest(action.sender, action.scope, verb, action.data, action.at, action.card_id, action.address)
        try:
            return await handler(request)
        except StorageUnavailable:
            log.warning("storage unavailable while handling %s", verb.value, exc_info=True)
            return ActionResult(note="I can't reach the rotation data right now. Nothing was changed; please try again.")
        except DomainError as err:
            return ActionResult(note=str(err))

    async def _on_action(self, action: CardAction, turn: Turn) -> Answer | None:
        """Run the verb's handler; a changed card is updated in place for everyone, replies go to the conversation.

        Action.Execute answers with the card (or the note) itself; the Action.Submit fallback gets the note as a
        message, since its client waits for nothing.
        """
        result = await self._run(action)
        if result.card is not None and action.card_id and (result.changed or not action.invoke):
            try:
                await turn.apply(UpdateCard(action.card_id, result.card))
            except DomainError as err:
                # The clicker still gets the card in the invoke answer.
                log.warning("could not update the card in place: %s", err)
        replies = list(result.replies) if action.invoke else ([Text(result.note)] if result.note else []) + list(result.replies)
        await self._reply(turn, replies, action, f"click|{action.card_id}|{action.at.isoformat()}")
        if not action.invoke:
            return None
        return Answer(card=result.card) if result.card is not None else Answer(note=result.note or "Done.")

    # ------------------------------------------------------------------ installs

    async def _on_installed(self, event: Installed, turn: Turn) -> None:
        """Remember where the bot was installed, and greet once."""
        if event.scope is Scope.PERSONAL:
            kind, key = "user", event.sender.aad_object_id or event.address.place
        else:
            kind, key = ("team", event.team) if event.team else ("chat", event.address.place)
        if await self._conversations.remember_address(kind, key, event.address.top()):
            greeting = GREETING_PERSONAL if event.scope is Scope.PERSONAL else GREETING_TEAM
            await self._outbox.deliver(turn.apply, [Text(greeting)], event.address, f"greeting|{kind}|{key}")
