"""Replies that could not be sent during the turn: stored as jobs and posted once Teams takes them again."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from ..domain.errors import DeliveryFailed
from ..domain.jobs import Job, RetryLater
from ..domain.messages import Reply, decode_reply, encode_reply
from ..domain.requests import Address
from .jobs import JobRunner
from .ports import Messenger

log = logging.getLogger(__name__)


class Outbox:
    """Sends a turn's replies in order; what Teams refuses for now is posted later by a job, not lost."""

    def __init__(self, jobs: JobRunner, messenger: Messenger, clock: Callable[[], datetime]) -> None:
        self._jobs = jobs
        self._messenger = messenger
        self._clock = clock
        jobs.handles("outbox.post")(self._post)

    async def deliver(self, send: Callable[[list[Reply]], object], replies: list[Reply], address: Address, key: str) -> None:
        """Send each reply in the turn; from the first one Teams can't take now, the rest goes out as jobs."""
        for index, reply in enumerate(replies):
            try:
                await send([reply])
            except RetryLater as err:
                log.warning("a reply could not be sent now; it is queued: %s", err)
                await self.later(address, replies[index:], key, index)
                return
            except DeliveryFailed as err:
                log.warning("a reply was refused: %s", err)
                return

    async def later(self, address: Address, replies: list[Reply], key: str, first: int = 0) -> None:
        """Queue replies to a conversation, in order (each a job with its own id, so a repeat queues nothing)."""
        due = self._clock()
        for offset, reply in enumerate(replies):
            where = [address.service_url, address.conversation_id, address.tenant_id, address.channel_id]
            await self._jobs.enqueue(Job(f"outbox|{key}|{first + offset}", "outbox.post", due,
                                         {"address": where, "reply": encode_reply(reply), "order": first + offset}))
        self._jobs.wake()

    async def _post(self, job: Job) -> None:
        await self._messenger.post(Address(*job.payload["address"]), decode_reply(job.payload["reply"]))
