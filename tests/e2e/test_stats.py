"""`stats` in personal chat, end to end: requests and alerts seeded in Azurite, the card read at the connector."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import post
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards
from tests.support.figures import REQUESTS, THREADS


@pytest.fixture
async def november(storage_env) -> None:
    """The hand-computed November 2026 requests and alert threads, stored through the repositories."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    for r in REQUESTS:
        await services.requests.add(r)
    for t in THREADS:
        await services.alerts.add(t)
    await services.store.close()


@pytest.fixture
def stats_bot(start_bot, november):
    """The bot over the seeded November."""
    return start_bot()


async def ask(http, bot, connector, text: str):
    """Send a personal message; the one activity the bot sent back."""
    before = len(connector.sent)
    status, _ = await post(http, bot, activities.personal(text, connector.url))
    assert status == 201
    await connector.wait_for(before + 1, timeout=10)
    (sent,) = connector.sent[before:]
    return sent.body


def chart(card: dict, type_name: str) -> dict:
    (found,) = [e for e in card["body"] if e["type"] == type_name]
    return found


async def test_stats_for_a_month_answers_with_the_figures_card(http, stats_bot, connector):
    body = await ask(http, stats_bot, connector, "stats 2026-11")
    card = body["attachments"][0]["content"]
    assert_valid_cards(card)
    facts = {f["title"]: f["value"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]}
    assert facts["Requests"] == "7"  # the 00:05 on 1 Nov counts, the 00:10 on 1 Dec (still 30 Nov in UTC) does not
    assert facts["First response"] == "median 1.8 min · p90 7.5 min"
    assert facts["Missed 5-minute target"] == "2 of 7"
    assert facts["Jira tickets"] == "3 (2 for requests, 1 for alerts)"
    assert facts["Bugsnag alerts"] == "3 (9 events)"
    assert facts["Handled"] == "2 of 3 (1 taken, 1 not impactful)"
    bars = chart(card, "Chart.VerticalBar")
    assert {d["x"]: d["y"] for d in bars["data"] if d["y"]} == {"0": 1, "9": 1, "11": 1, "16": 2, "17": 2}
    assert bars["fallback"]["text"] == "Requests by hour: 0h 1 · 9h 1 · 11h 1 · 16h 2 · 17h 2"
    donut = chart(card, "Chart.Donut")
    assert {d["legend"]: d["value"] for d in donut["data"]} == {"Bug → Jira": 2, "Exception": 1, "Quick question": 2, "Documented": 1}
    assert "16–18h (4 requests) was the peak." in json.dumps(card, ensure_ascii=False)


async def test_bad_periods_get_the_usage_and_an_empty_month_a_card(http, stats_bot, connector):
    for text, problem in (("stats foo", "I don't know the period 'foo'."), ("stats 2026-13", "There is no month 2026-13.")):
        body = await ask(http, stats_bot, connector, text)
        assert "`stats last`" in body["text"] and "`stats 2026-11`" in body["text"], body
        assert body["text"].startswith(problem) and "went wrong" not in body["text"]
    body = await ask(http, stats_bot, connector, "stats 2026-01")
    card = body["attachments"][0]["content"]
    assert_valid_cards(card)
    assert "No #backend requests in this period." in json.dumps(card, ensure_ascii=False)
