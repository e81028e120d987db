"""1:1 pages, gathered per person: one message per window lists every request that paged them in it.

Teams lets a bot send 1,800 messages an hour into one chat (bench/README.md). In a rush, one 1:1 per request
would queue Dora's pages behind that limit, each waiting job holding a runner slot, so her pages would arrive
later and later while the backlog grew. Gathered per window, the first page of a quiet spell goes out at once,
and then at most one message per WINDOW_SECONDS, however many requests arrive.

Paging a request adds it to the person's window job (`pages|<person>|<window>`) that has not gone out yet, or
opens one; a window job that went out is remembered with the requests it listed for as long as a paging job
may be retried, so a paging job that runs again (after a failure further on) finds its request there and
pages nobody twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

from ..core.events import Direct, Text
from ..domain.address import Address
from ..domain.errors import DeliveryFailed
from ..domain.jobs import Job
from ..domain.requests import Person
from ..domain.text import format_clock, shorten
from .jobs import JobRunner
from .ports import Messenger

log = logging.getLogger(__name__)
WINDOW_SECONDS = 5  # at most 720 pages an hour into one chat, well inside Teams' 1,800
LISTED = 50  # requests listed in one message (well inside Teams' 28 KB); the rest are counted
KIND = "request.pages"


def page_item(request_id: str, requester: str, received_at: datetime, text: str, link: str) -> dict:
    """What a 1:1 page says of one request."""
    return {"id": request_id, "name": requester, "at": received_at.isoformat(), "text": shorten(text, 500), "link": link}


class DirectPages:
    """Queues and sends the gathered 1:1 pages."""

    def __init__(self, *, jobs: JobRunner, messenger: Messenger, tz: ZoneInfo,
                 clock: Callable[[], datetime], unreachable: Callable[[str, str, str, DeliveryFailed], Awaitable[None]]) -> None:
        self._jobs = jobs
        self._messenger = messenger
        self._tz = tz
        self._clock = clock
        self._unreachable = unreachable
        # A window that went out stays known (with the requests it listed) as long as a paging job may be retried:
        # nobody reopens it, and a paging job that runs again finds its request there instead of paging twice.
        self._remember = int(jobs.policy.give_up_seconds) + 60
        jobs.handles(KIND)(self._send)

    async def add(self, person: list[str], via: dict, item: dict, since: datetime) -> None:
        """Put a request on the person's page: the first window from `since` (when paging it began) that has not
        gone out; a repeat finds it where an earlier attempt put it (a window that went out remembers its requests)."""
        window = int(since.timestamp() // WINDOW_SECONDS)
        while True:
            job_id = f"pages|{person[0]}|{window}"
            due = datetime.fromtimestamp(window * WINDOW_SECONDS, timezone.utc)
            job = Job(job_id, KIND, due, {"person": person, "via": via, "items": [item], "remember": [item["id"]],
                                          "lane": f"pages|{person[0]}"}, remember_seconds=self._remember)
            if await self._jobs.enqueue(job) or await self._jobs.amend(job_id, lambda j: _with(j, item)):
                return
            window += 1

    async def _send(self, job: Job) -> None:
        """One message with every request of the window, as the acknowledgements paged them (one answered in the
        meantime included: the page says what happened in the channel, as the 1:1 per request did)."""
        items = job.payload["items"]
        aad, name, *teams = job.payload["person"]
        person = Person(aad, name, teams[0] if teams else "")
        try:
            await self._messenger.send(Direct(person, Text(self.text(items)), Address.from_json(job.payload["via"])))
        except DeliveryFailed as err:
            # Permanent (the app is not installed for them, the chat is gone): each request's thread hears of it.
            log.warning("1:1 page not delivered: %s", err)
            for item in items:
                await self._unreachable(item["id"], aad, name, err)

    def text(self, items: list[dict]) -> str:
        """The page: one request quoted in full, several listed with links."""
        if len(items) == 1:
            item = items[0]
            return f"New #backend request from {item['name']}:\n\n> {item['text']}\n\n[Open the thread]({item['link']})"
        lines = [f"- [{item['name']}, {format_clock(datetime.fromisoformat(item['at']), self._tz)}: "
                 f"{shorten(item['text'], 80)}]({item['link']})" for item in items[:LISTED]]
        if len(items) > LISTED:
            lines.append(f"- and {len(items) - LISTED} more in the channel")
        return f"{len(items)} new #backend requests:\n\n" + "\n".join(lines)


def _with(job: Job, item: dict) -> Job | None:
    """The page with this request added; None when it has it (or had it, for a page that went out)."""
    if item["id"] in job.payload.get("remember", ()):
        return None
    return replace(job, payload={**job.payload, "items": [*job.payload.get("items", ()), item],
                                 "remember": [*job.payload.get("remember", ()), item["id"]]})
