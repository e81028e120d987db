"""A support request through Teams refusals, retried jobs and stale clicks: the real core over Azurite, Teams recorded."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.events import Card, Post
from bot.domain.rotation import RotationWeek
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
