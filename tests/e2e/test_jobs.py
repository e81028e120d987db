"""Parked jobs end to end: Teams refuses an alert card, the job parks, /healthz counts it, a lead retries it."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from tests.e2e.conftest import DORA, LARS, post
from tests.e2e.test_alerts import CHANNEL, PAYLOAD, channel_cards, hook
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import find_action

PERSONAL = "a:1personal0chat0id"


@pytest.fixture
def refusing(connector):
    """The connector stand-in answers 403 to posts in the alert channel while `refusing["on"]` is true."""
    state = {"on": True, "refused": 0}
    record = connector._record

    async def maybe_refuse(request: web.Request, method: str) -> web.Response:
        if state["on"] and method == "POST" and request.match_info["conversation"] == CHANNEL:
            state["refused"] += 1
            return web.json_response({"error": {"code": "Forbidden", "message": "the bot is not in this team"}}, status=403)
        return await record(request, method)

    connector._record = maybe_refuse
    return state


async def health(http, bot) -> dict:
    async with http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        return await response.json()


async def wait_for_parked(http, bot, count: int, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await health(http, bot))["parked_jobs"] != count:
        assert asyncio.get_running_loop().time() < deadline, f"never {count} parked jobs"
        await asyncio.sleep(0.1)


def personal_cards(connector) -> list[dict]:
    return [a["content"] for s in connector.sent if s.conversation_id == PERSONAL and s.method == "POST"
            for a in s.body.get("attachments") or []]


async def click(http, bot, connector, action: dict, who: str, name: str) -> dict:
    activity = activities.card_action(action["verb"], action["data"], connector.url, reply_to="jobs-card", aad=who,
                                      name=name, personal_chat=True)
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


async def test_a_refused_alert_parks_shows_in_healthz_and_a_lead_retries_it_once(http, start_bot, rotation, desk_env,
                                                                                  connector, refusing):
    from tests.e2e.test_alerts import SECRET

    bot = start_bot(**desk_env, BUGSNAG_WEBHOOK_SECRET=SECRET, ALERTS_CHANNEL_ID=CHANNEL, TEAMS_SERVICE_URL=connector.url)
    assert await health(http, bot) == {"status": "ok", "parked_jobs": 0}
    assert (await hook(http, bot, PAYLOAD))[0] == 200
    await wait_for_parked(http, bot, 1)
    await asyncio.sleep(1)
    assert refusing["refused"] == 1  # DeliveryFailed is never retried automatically
    assert "Traceback" not in bot.log()

    await post(http, bot, activities.personal("jobs", connector.url, aad=LARS, name="Lars Lead"))
    await connector.wait_until(lambda c: personal_cards(c), what="the parked-jobs card")
    card = personal_cards(connector)[0]
    assert_valid_cards(card)
    text = json.dumps(card, ensure_ascii=False)
    assert "alert.post" in text and "Bugsnag NoMethodError" in text and "Teams refused it with 403 Forbidden" in text

    refusing["on"] = False
    retry = find_action(card, "job.retry")
    first, second = await asyncio.gather(click(http, bot, connector, retry, LARS, "Lars Lead"),
                                         click(http, bot, connector, retry, LARS, "Lars Lead"))
    notices = json.dumps([first, second], ensure_ascii=False)
    assert "Retrying alert.post" in notices and "retried already" in notices
    await connector.wait_until(lambda c: channel_cards(c), what="the alert card after the retry")
    await wait_for_parked(http, bot, 0)
    await asyncio.sleep(1)
    assert len(channel_cards(connector)) == 1
    again = await click(http, bot, connector, retry, LARS, "Lars Lead")  # a stale card
    assert "retried already" in json.dumps(again, ensure_ascii=False) and len(channel_cards(connector)) == 1


async def test_only_active_leads_see_or_retry_parked_jobs(http, start_bot, rotation, desk_env, connector):
    bot = start_bot(**desk_env)
    await post(http, bot, activities.personal("jobs", connector.url, aad=DORA, name="Dora Dev"))
    (sent,) = await connector.wait_for(1)
    assert sent.body["text"] == "Only an active lead can see and retry parked jobs."
    forged = {"type": "Action.Execute", "verb": "job.retry_all", "data": {"asof": "2099-01-01T00:00:00+00:00"}}
    body = await click(http, bot, connector, forged, DORA, "Dora Dev")
    assert body["value"] == "Only an active lead can see and retry parked jobs."
    await post(http, bot, activities.personal("jobs", connector.url, aad=LARS, name="Lars Lead"))
    await connector.wait_until(lambda c: personal_cards(c), what="the (empty) parked-jobs card")
    assert "No parked jobs" in json.dumps(personal_cards(connector)[0])
