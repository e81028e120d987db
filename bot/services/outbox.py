"""Replies that could not be sent during the turn: stored as jobs and posted once Teams takes them again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Awaitable, Callable

from ..core.events import Card, Content, Post, Priority, Reply, decode_content, encode_content
from ..domain.address import Address
from ..domain.errors import DeliveryFailed, StorageUnavailable
from ..domain.jobs import Job, RetryLater
from .jobs import JobRunner
from .ports import Messenger

log = logging.getLogger(__name__)


class Outbox:
    """Sends a turn's replies in order; what Teams refuses for now is posted later by a job, not lost.

    `render` turns a card's view into its dict before it is stored (the job posts the rendered card).
    """

    def __init__(self, jobs: JobRunner, messenger: Messenger, clock: Callable[[], datetime],
                 render: Callable[[object], dict]) -> None:
        self._jobs = jobs
        self._messenger = messenger
        self._clock = clock
        self._render = render
        jobs.handles("outbox.post")(self._post)

    async def deliver(self, apply: Callable[[Reply], Awaitable[object]], replies: list[Content], address: Address,
                      key: str) -> None:
        """Send each reply in the turn; from the first one Teams can't take now, the rest goes out as jobs."""
        for index, reply in enumerate(replies):
            try:
                await apply(Reply(reply))
            except RetryLater as err:
                try:
                    await self.later(address, replies[index:], key, index)
                except StorageUnavailable as down:
                    # Neither Teams nor storage takes it now: nothing is left to hold it, and the turn must not fail.
                    log.warning("a reply could not be sent (%s) nor queued (%s); it is lost", err, down)
                    return
                log.warning("a reply could not be sent now; it is queued: %s", err)
                return
            except DeliveryFailed as err:
                log.warning("a reply was refused: %s", err)
                return

    async def send_now(self, apply: Callable[[Reply], Awaitable[object]], reply: Content) -> bool:
        """Send one reply in the turn and queue nothing: False when Teams can't take it now (the caller's own job
        sends it later). A refusal for good is one warning and counts as done, since it would be refused again."""
        try:
            await apply(Reply(reply))
        except RetryLater as err:
            log.warning("a reply could not be sent now; its job sends it: %s", err)
            return False
        except DeliveryFailed as err:
            log.warning("a reply was refused: %s", err)
        return True

    async def later(self, address: Address, replies: list[Content], key: str, first: int = 0) -> None:
        """Queue replies to a conversation, in order (each a job with its own id, so a repeat queues nothing)."""
        due = self._clock()
        for offset, reply in enumerate(replies):
            if isinstance(reply, Card):
                reply = Card(self._render(reply.view), reply.summary)
            # One lane per conversation: an instance posts its queued replies one after another, in order.
            await self._jobs.enqueue(Job(f"outbox|{key}|{first + offset}", "outbox.post", due,
                                         {"address": address.to_json(), "reply": encode_content(reply),
                                          "lane": f"conversation|{address.place}|{address.thread}"}))
        self._jobs.wake()

    async def _post(self, job: Job) -> None:
        await self._messenger.send(Post(Address.from_json(job.payload["address"]), decode_content(job.payload["reply"]),
                                        Priority.ACKNOWLEDGEMENT))
