"""A support request through Teams refusals, retried jobs and stale clicks: the real core over Azurite, Teams recorded."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.events import Card, Post
from bot.domain.rotation import RotationWeek
from bot.integrations.jira import JiraTicket
from cards.render import render
from tests.support.cards import actions_in, find_action
from tests.support.week import BACKEND, WeekHarness, member

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
