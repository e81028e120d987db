"""1:1 pages gathered per person: the real core over Azurite (injected clock), Teams recorded.

Whatever the arrivals, each open request reaches each paged person exactly once, the first page of a quiet spell
goes out at once, and a person's chat gets at most one page per window (Teams allows 1,800 messages an hour).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.jobs import JobPolicy
from bot.domain.rotation import RotationWeek
from bot.services.direct_pages import LISTED, WINDOW_SECONDS, DirectPages
from bench.rush_texts import distinct_pool
from tests.support.week import BACKEND, WeekHarness, member

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # a Tuesday, in working hours
DORA = member("dora", "Dora Dev", production=True)
PAULA = member("paula", "Paula Pair")
LARS = member("lars", "Lars Lead", production=True, lead=True)
OLGA = member("olga", "Olga Ops")
TEXTS = distinct_pool()  # none of them would be grouped into an incident with another (a grouped request pages nobody)


async def opened(azurite) -> WeekHarness:
    harness = WeekHarness(azurite.connection_string, "dp" + uuid.uuid4().hex[:10], START)
    await harness.open([DORA, PAULA, LARS], [RotationWeek(harness.services.policy.at(START, BERLIN).start, ("dora", "paula"))])
    return harness


@pytest.fixture
async def bot(azurite):
    harness = await opened(azurite)
    yield harness
    await harness.close()


def pages(bot: WeekHarness, who: str) -> list:
    return [s for s in bot.messenger.sent if s.kind == "direct" and s.conversation == f"1:1|{who}"]


def listed(page) -> list[str]:
    """The request ids a page links (each link ends in the thread's root id)."""
    return re.findall(r"\(https://teams\.example/l/[^/]+/([^)\s]+)\)", page.text)


async def test_one_request_gets_the_whole_page_at_once(bot):
    message = await bot.mention(OLGA, "Tourexport für Leipzig bricht mit Timeout ab")
    for who in ("dora", "paula"):
        [page] = pages(bot, who)
        assert page.text.startswith("New #backend request from Olga Ops:\n\n> ")
        assert "Tourexport für Leipzig bricht mit Timeout ab" in page.text and listed(page) == [message.id]
        assert page.at == START  # not held back for a window


async def test_a_burst_pages_each_person_once_or_twice_with_every_request_listed_once(bot):
    ids = [(await bot.mention(OLGA, TEXTS[n])).id for n in range(12)]
    await bot.advance(WINDOW_SECONDS * 3)
    for who in ("dora", "paula"):
        sent = pages(bot, who)
        assert 1 <= len(sent) <= 2, [p.text for p in sent]
        assert sorted(i for p in sent for i in listed(p)) == sorted(ids)
    several = next(p for p in pages(bot, "dora") if len(listed(p)) > 1)
    assert several.text.startswith(f"{len(listed(several))} new #backend requests:")
    assert "Olga Ops" in several.text


async def test_a_request_answered_before_its_window_goes_out_is_still_on_the_page(bot):
    first = await bot.mention(OLGA, TEXTS[0])  # pages at once, and opens the next window
    late = await bot.mention(OLGA, TEXTS[1])
    thread = f"{BACKEND};messageid={late.id}"
    card = next(s for s in bot.messenger.sent if s.conversation == thread and s.kind == "post")
    answer = {"verb": "request.triage", "request": late.id, "outcome": "question", "question_answer": "Papier nachlegen."}
    await bot.click(DORA, answer, card.id, thread)
    await bot.advance(WINDOW_SECONDS * 2)
    for who in ("dora", "paula"):
        assert [listed(p) for p in pages(bot, who)] == [[first.id], [late.id]]  # the page says what the channel did


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 12), min_size=1, max_size=14), st.integers(0, 20))
async def test_any_arrivals_reach_everyone_paged_once_and_a_chat_gets_one_page_per_window(azurite, gaps, burst):
    bot = await opened(azurite)
    try:
        ids = [(await bot.mention(OLGA, TEXTS[n])).id for n in range(burst)]
        for n, gap in enumerate(gaps):
            for _ in range(gap):  # a second at a time, so each window's page goes out when it is due
                await bot.advance(1)
            ids.append((await bot.mention(OLGA, TEXTS[burst + n])).id)
        for _ in range(WINDOW_SECONDS * 2):
            await bot.advance(1)
        for who in ("dora", "paula"):
            sent = pages(bot, who)
            assert sorted(i for p in sent for i in listed(p)) == sorted(ids)
            windows = [int(p.at.timestamp() // WINDOW_SECONDS) for p in sent]
            assert len(windows) == len(set(windows)), [p.at for p in sent]
    finally:
        await bot.close()


def test_a_page_lists_at_most_LISTED_requests_and_counts_the_rest():
    at = START.isoformat()
    items = [{"id": f"r{n}", "name": "Olga Ops", "at": at, "text": "x" * 600, "link": f"https://teams.example/l/c/r{n}"}
             for n in range(LISTED + 3)]
    text = DirectPages(jobs=Runner(), messenger=None, tz=BERLIN, clock=lambda: START, unreachable=None).text(items)
    assert text.startswith(f"{LISTED + 3} new #backend requests:") and text.endswith("- and 3 more in the channel")
    assert len(re.findall(r"\(https://teams\.example/l/c/r\d+\)", text)) == LISTED
    assert len(text.encode()) < 28_000  # Teams' message size limit


class Runner:
    """Takes the handler registration; nothing runs."""

    policy = JobPolicy()

    def handles(self, kind):
        return lambda handler: handler
