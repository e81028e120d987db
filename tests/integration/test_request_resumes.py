"""A support request through Teams refusals, retried jobs and stale clicks: the real core over Azurite, Teams recorded."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.events import Card, Person, Post, Reply
from bot.domain.errors import StorageUnavailable
from bot.domain.rotation import RotationWeek
from bot.integrations.jira import JiraTicket
from cards.render import render
from tests.support.cards import actions_in, find_action
from tests.support.week import BACKEND, WeekHarness, member, where

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # a Tuesday, in working hours
DORA = member("dora", "Dora Dev", production=True)
PAULA = member("paula", "Paula Pair")
LARS = member("lars", "Lars Lead", production=True, lead=True)
OLGA = member("olga", "Olga Ops")  # not on the roster: a requester


def triage_card(effect) -> bool:
    """The first post of a triage card."""
    return isinstance(effect, Post) and isinstance(effect.content, Card)


@pytest.fixture
async def bot(azurite):
    harness = WeekHarness(azurite.connection_string, "rq" + uuid.uuid4().hex[:10], START)
    week = RotationWeek(harness.services.policy.at(START, BERLIN).start, ("dora", "paula"))
    await harness.open([DORA, PAULA, LARS], [week])
    yield harness
    await harness.close()


async def test_a_paging_job_that_runs_again_writes_each_1to1_once(bot):
    bot.messenger.refuse.append(triage_card)  # Teams can't take the card now: the paging job runs again later
    message = await bot.mention(OLGA, "the tour export fails for depot Leipzig")
    assert not [s for s in bot.messenger.sent if s.kind == "post"]
    await bot.advance(10)
    thread = f"{BACKEND};messageid={message.id}"
    assert [s.kind for s in bot.messenger.sent if s.conversation == thread] == ["reply", "post"]  # the ack, the card
    directs = sorted(s.conversation for s in bot.messenger.sent if s.kind == "direct")
    assert directs == ["1:1|dora", "1:1|paula"]


class Tickets:
    """Jira's port, recording each ticket filed."""

    def __init__(self) -> None:
        self.filed: list[str] = []

    async def create_once(self, project, issue_type, summary, description, label):
        self.filed.append(label)
        return JiraTicket(f"EDGE-{len(self.filed)}", f"https://jira.example/browse/EDGE-{len(self.filed)}")


async def test_a_bug_click_on_an_outdated_card_files_nothing_queues_no_ticket_job_and_says_so(azurite):
    tickets = Tickets()
    bot = WeekHarness(azurite.connection_string, "rq" + uuid.uuid4().hex[:10], START, tickets=tickets)
    await bot.open([DORA, PAULA, LARS], [RotationWeek(bot.services.policy.at(START, BERLIN).start, ("dora", "paula"))])
    try:
        message = await bot.mention(OLGA, "the tour export fails for depot Leipzig")
        thread = f"{BACKEND};messageid={message.id}"
        card = next(s for s in bot.messenger.sent if s.conversation == thread and s.kind == "post")
        bug = next(a["data"] for a in actions_in(card.card) if (a.get("data") or {}).get("outcome") == "bug")
        claim = find_action(card.card, "request.claim")["data"]
        await bot.click(PAULA, claim, card.id, thread)  # the card moves on: Paula is on it
        answer = await bot.click(DORA, {**bug, "bug_summary": "Export 500"}, card.id, thread)
        assert await bot.services.jobs.repository.get(f"ticket|{message.id}") is None
        notice = json.dumps(render(answer.card.view))
        assert "out of date (Paula Pair is on it now), so nothing was recorded or filed" in notice
        stored = (await bot.services.requests.get(message.id)).value
        assert stored.outcome is None and tickets.filed == []
        # On the current card the same click files the ticket once.
        current = next(a["data"] for a in actions_in(render(answer.card.view)) if (a.get("data") or {}).get("outcome") == "bug")
        await bot.click(DORA, {**current, "bug_summary": "Export 500"}, card.id, thread)
        assert tickets.filed == [f"supportbot-{message.id}"]
    finally:
        await bot.close()


class DownOnce:
    """The jobs table, failing the next `times` enqueues as Table Storage does while it is down."""

    def __init__(self, jobs, times: int = 1) -> None:
        self._jobs = jobs
        self.times = times

    async def add(self, job):
        if self.times > 0:
            self.times -= 1
            raise StorageUnavailable("enqueueing job: Table Storage did not answer (ServiceRequestError)")
        return await self._jobs.add(job)

    def __getattr__(self, name):
        return getattr(self._jobs, name)


def thread_texts(bot, message) -> list[str]:
    thread = f"{BACKEND};messageid={message.id}"
    return [s.text or "card" for s in bot.messenger.sent if s.conversation == thread]


async def test_a_request_that_arrives_while_storage_is_down_is_paged_once_it_is_back_and_says_so(bot):
    bot.services.jobs.repository = DownOnce(bot.services.jobs.repository)
    message = await bot.mention(OLGA, "the tour export fails for depot Leipzig")
    notice, ack, card = thread_texts(bot, message)
    assert notice.startswith("My storage is down, so I couldn't record this request yet. I'll page support in this "
                             "thread as soon as it's back; if no page appears here within 2 minutes")
    assert ack.startswith("Thanks <at>Olga Ops</at>! I've paged support: <at>Dora Dev</at>") and card == "card"


async def test_a_redelivery_while_storage_is_down_promises_the_page_that_the_stored_request_then_gets(bot):
    # The first delivery was stored (its paging job, leased), and its instance died before acknowledging it.
    message_id, text = "1764000009999", "the tour export fails for depot Leipzig"
    address = where(f"{BACKEND};messageid={message_id}")
    assert await bot.core.desk.open(message_id=message_id, address=address, requester=Person("olga", "Olga Ops"),
                                    text=text, received_at=bot.clock()) is not None
    # Teams delivers it again, to an instance that finds Table Storage down.
    bot.services.jobs.repository = DownOnce(bot.services.jobs.repository)
    message = await bot.mention(OLGA, text, message_id=message_id)
    await bot.advance(20)  # the dead instance's lease runs out
    notice, ack, card = thread_texts(bot, message)
    assert notice.startswith("My storage is down") and "I'll page support in this thread as soon as it's back" in notice
    assert ack.startswith("Thanks <at>Olga Ops</at>! I've paged support") and card == "card"


async def test_an_escalation_that_runs_late_goes_out_at_once_not_in_a_later_digest_window(bot):
    message = await bot.mention(OLGA, "the tour export fails for depot Leipzig")
    await bot.advance(3600)  # the escalation jobs run an hour after their deadlines (as after an outage)
    sent = [s.text for s in bot.messenger.sent if s.text.startswith(("⏰", "🚨"))]
    assert [t[0] for t in sent] == ["⏰", "🚨"], sent
    stored = (await bot.services.requests.get(message.id)).value
    assert stored.escalated_levels == {1, 2}


async def test_an_acknowledgement_teams_refuses_in_the_turn_is_posted_by_the_paging_job_before_the_card(bot):
    bot.messenger.refuse.append(lambda effect: isinstance(effect, Reply))  # the acknowledgement, in the turn
    message = await bot.mention(OLGA, "the tour export fails for depot Leipzig")
    await bot.advance(10)
    texts = thread_texts(bot, message)
    assert len(texts) == 2 and texts[0].startswith("Thanks <at>Olga Ops</at>! I've paged support") and texts[1] == "card"
    stored = (await bot.services.requests.get(message.id)).value
    assert stored.acked_at is not None and stored.extra["paged"]["names"] == ["Dora Dev", "Paula Pair"]
