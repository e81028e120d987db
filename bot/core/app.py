"""The one entry point for messages: is it a command, a new support request, or part of a request's thread?"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from ..commands.actions import STALE, ActionRequest, ActionResult, ActionRouter
from ..commands.help import unknown_hint
from ..commands.router import CommandRequest, CommandRouter, Scope
from ..domain.errors import DomainError, StorageUnavailable
from ..domain.messages import Mention, Reply, Text
from .inbound import CardAction, Message

if TYPE_CHECKING:
    from ..bootstrap import Services

log = logging.getLogger(__name__)
STORAGE_DOWN = "I can't reach the rotation data right now. Nothing was changed; please try again in a minute."


class Turn(Protocol):
    """Where the answers of one inbound event go: replies in the same conversation (or thread), in order."""

    async def send(self, replies: list[Reply]) -> None: ...


async def guarded(work: Awaitable[list[Reply]]) -> list[Reply]:
    """Run a handler; domain errors become a plain answer instead of an apology."""
    try:
        return await work
    except StorageUnavailable:
        log.warning("storage unavailable while handling a command", exc_info=True)
        return [Text(STORAGE_DOWN)]
    except DomainError as err:
        return [Text(str(err))]


class SupportApp:
    """Routes messages. The rules, in order:

    1. In a request's thread every message belongs to that request, mentioned or not (unless the whole
       message is a command): support's reply is the first response, anyone else's a follow-up.
    2. A message that doesn't mention the bot is not for it (channels deliver every message to the bot).
    3. In a request channel a message is a command only when the whole message is one; anything else is a
       request. Elsewhere, commands are recognised by their first word (and natural variants in personal chat).
    """

    def __init__(self, services: "Services", commands: CommandRouter, actions: ActionRouter, clock: Callable) -> None:
        self._services = services
        self._commands = commands
        self._actions = actions
        self._clock = clock

    async def deliver(self, turn: Turn, replies: list[Reply], address, key: str) -> None:
        """Send a click's replies in its conversation; what Teams can't take now is sent later, not lost."""
        await self._services.outbox.deliver(turn.send, replies, address, key)

    async def on_action(self, action: CardAction) -> ActionResult:
        """Answer a card click: the registered handler of its verb; an unknown verb means an outdated card."""
        verb = self._actions.parse(action.data.get("verb"))
        handler = self._actions.handler(verb) if verb else None
        if handler is None:
            return STALE
        request = ActionRequest(action.sender, action.scope, verb, action.data, action.at, self._services,
                                action.card_id, action.address)
        try:
            return await handler(request)
        except StorageUnavailable:
            log.warning("storage unavailable while handling %s", verb.value, exc_info=True)
            return ActionResult(note="I can't reach the rotation data right now. Nothing was changed; please try again.")
        except DomainError as err:
            return ActionResult(note=str(err))

    async def on_message(self, message: Message, turn: Turn) -> None:
        """Answer one message."""
        if message.scope is Scope.CHANNEL and message.in_reply:
            if await self._in_request_thread(message, turn):
                return
        if message.scope is not Scope.PERSONAL and not message.mentioned:
            return
        request_channel = message.scope is Scope.CHANNEL and await self._takes_requests(message)
        match = (self._commands.match_whole(message.text, message.scope) if request_channel
                 else self._commands.match(message.text, message.scope))
        if match is not None:
            command, args = match
            request = CommandRequest(message.sender, message.scope, message.text, args, message.at, self._services,
                                     message.address)
            await self._reply(turn, await guarded(command.handler(request)), message)
        elif request_channel:
            await self._open_request(message, turn)
        else:
            await self._reply(turn, [unknown_hint(message.scope)], message)

    async def _reply(self, turn: Turn, replies: list[Reply], message: Message) -> None:
        """Answer in the message's conversation; what Teams can't take now is sent later, not lost."""
        await self._services.outbox.deliver(turn.send, replies, message.address, f"reply|{message.id}")

    async def _takes_requests(self, message: Message) -> bool:
        try:
            return await self._services.request_channels.takes_requests(message.channel_id)
        except StorageUnavailable:
            # Better a request too many than a lost one: with storage down, treat the mention as a request.
            return True

    async def _in_request_thread(self, message: Message, turn: Turn) -> bool:
        """Handle a message in a request's thread; False when the thread is not a request's."""
        if message.mentioned:
            whole = self._commands.match_whole(message.text, message.scope)
            if whole is not None:
                return False  # a command asked inside the thread is answered as a command
        try:
            replies = await self._services.desk.thread_message(message.thread_root, message.person, message.text,
                                                               message.mentioned, message.at)
        except StorageUnavailable:
            log.warning("could not read the thread's request", exc_info=True)
            if message.mentioned:
                await self._reply(turn, [Text(STORAGE_DOWN)], message)
            return True
        except DomainError:
            log.warning("could not record a thread message", exc_info=True)
            return True
        if replies is None:
            return False
        await self._reply(turn, replies, message)
        return True

    async def _open_request(self, message: Message, turn: Turn) -> None:
        """Record the request, acknowledge it in the thread at once, then page in the background."""
        requester = replace(message.person, name=message.person.name or "there")
        if not message.text:
            mention = Mention(requester.mention_id, requester.name or "there")
            await self._reply(turn, [Text(f"Hi {mention.tag}, what's the problem? Describe it in one message with me "
                                          "mentioned, and I'll page the support pair.", (mention,))], message)
            return
        desk = self._services.desk
        try:
            opened = await desk.open(message_id=message.thread_root or message.id, address=message.address,
                                     requester=requester, text=message.text, received_at=message.at)
        except StorageUnavailable:
            log.warning("could not record a request", exc_info=True)
            await self._reply(turn, [Text("I couldn't record this request because my storage is down. Please page "
                                          "the support pair directly; I'm sorry.")], message)
            return
        if opened is None:
            return  # Teams delivered the same message again; it was acknowledged the first time
        request, paging = opened
        try:
            await self._reply(turn, [desk.ack(request)], message)
        finally:
            # Paging never waits on (or fails with) the acknowledgement's delivery.
            paging.start(acked_at=self._clock().isoformat())
        log.info("support request acknowledged")
