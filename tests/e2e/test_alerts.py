"""#bugsnag-backend end to end: webhooks stored first, one card per error, grouping, handling, escalation, Jira."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import DORA, LARS, OLGA, post
from tests.e2e.test_requests import NAMES
from tests.support.cards import find_action
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards

SECRET = "s3cr3t-webhook-token-0123456789abcdef"
CHANNEL = "19:bugsnag0channel0id@thread.tacv2"
PAYLOAD = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "bugsnag" / "first_exception.json").read_text())


def payload(error_id: str = "6560e0000000000000000abc", trigger: str = "firstException", occurrences: int = 1,
            stage: str = "production", **error) -> dict:
    body = copy.deepcopy(PAYLOAD)
    body["trigger"]["type"] = trigger
    body["error"].update({"errorId": error_id, "occurrences": occurrences, "releaseStage": stage, **error})
    return body


@pytest.fixture
def alert_env(desk_env, connector) -> dict[str, str]:
    return {**desk_env, "BUGSNAG_WEBHOOK_SECRET": SECRET, "ALERTS_CHANNEL_ID": CHANNEL,
            "TEAMS_SERVICE_URL": connector.url, "ALERT_ESCALATION_SECONDS": "2"}


@pytest.fixture
def alert_bot(start_bot, rotation, alert_env):
    return start_bot(**alert_env)


async def hook(http, bot, body, secret: str = SECRET, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    async with http.post(f"{bot.url}/api/bugsnag/{secret}", data=data, headers={"Content-Type": "application/json"}) as r:
        return r.status, await r.json()


def channel_cards(connector) -> list:
    """Cards that started a thread in the alert channel."""
    return [s for s in connector.sent if s.method == "POST" and s.conversation_id == CHANNEL and s.body.get("attachments")]


def latest_card(connector, card_id: str) -> dict:
    for sent in reversed(connector.sent):
        if (sent.method == "PUT" and sent.activity_id == card_id) or (sent.method == "POST" and sent.new_id == card_id):
            return sent.body["attachments"][0]["content"]
    raise AssertionError("no such card")


def thread_texts(connector, card_id: str) -> list[str]:
    thread = f"{CHANNEL};messageid={card_id}"
    return [s.body.get("text") or "" for s in connector.sent if s.conversation_id == thread and s.method == "POST"]


async def test_fixture_alert_is_stored_fast_and_posted_as_a_card(http, alert_bot, connector):
    started = time.perf_counter()
    status, body = await hook(http, alert_bot, PAYLOAD)
    assert status == 200 and body == {"status": "accepted"}
    assert time.perf_counter() - started < 1.0  # Bugsnag gives up after 4 s
    await connector.wait_until(lambda c: channel_cards(c), what="the alert card")
    card = channel_cards(connector)[0].body["attachments"][0]["content"]
    text = json.dumps(card, ensure_ascii=False)
    for expected in ("NoMethodError", "undefined method `tour' for nil:NilClass", "Api::V2::ToursController#export",
                     "production · 2026.11.30-1", "Users affected", "Dora Dev and Paula Pair",
                     "https://app.bugsnag.com/liefery/liefery-backend/errors/6560e0000000000000000abc"):
        assert expected in text, expected
    assert_valid_cards(card)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({k: v for k, v in PAYLOAD.items() if k != "error"} | {"trigger": {"type": "projectSpiking", "message": "Project spiking"}}, id="error-missing"),
        pytest.param(payload(stackTrace=[{"file": f"app/x{i}.rb", "lineNumber": i, "method": "m" * 50} for i in range(12000)]), id="huge-stack-trace"),
        pytest.param(payload(message="Zeichenkodierung kaputt: Größe ≠ 🚚 «Lieferung» 配送", context="Café#show"), id="unicode"),
    ],
)
async def test_payload_variants_all_become_cards(http, alert_bot, connector, body):
    status, _ = await hook(http, alert_bot, body)
    assert status == 200
    await connector.wait_until(lambda c: channel_cards(c), what="the alert card")
    card = channel_cards(connector)[0].body["attachments"][0]["content"]
    assert_valid_cards(card)
    if "error" not in body:
        assert "Project spiking" in json.dumps(card)
    else:
        assert body["error"]["message"][:20] in json.dumps(card, ensure_ascii=False)


async def test_refusals(http, start_bot, rotation, alert_env, connector):
    bot = start_bot(**alert_env, BUGSNAG_PROJECT_IDS="5a2f0000000000000000bbbb")
    assert (await hook(http, bot, PAYLOAD, secret="wrong-secret-wrong-secret-123"))[0] == 404
    assert (await hook(http, bot, PAYLOAD, secret=SECRET[:-1]))[0] == 404
    other = copy.deepcopy(PAYLOAD)
    other["project"]["id"] = "someone-elses-project"
    assert (await hook(http, bot, other))[0] == 403
    assert (await hook(http, bot, None, raw=b"{not json"))[0] == 400
    assert (await hook(http, bot, None, raw=b"[1,2]"))[0] == 400
    await asyncio.sleep(1)
    assert channel_cards(connector) == []
    assert bot.alive()


async def test_no_secret_configured_means_no_endpoint(http, start_bot, rotation, desk_env):
    bot = start_bot(**desk_env)
    assert (await hook(http, bot, PAYLOAD, secret="anything-at-all-0123456789"))[0] == 404


async def test_burst_of_200_webhooks_for_5_errors_gives_5_cards(http, alert_bot, connector):
    bodies = [payload(error_id=f"err{n % 5}", occurrences=n // 5 + 1, exceptionClass=f"Error{n % 5}") for n in range(200)]
    results = await asyncio.gather(*(hook(http, alert_bot, b) for b in bodies))
    assert all(status == 200 for status, _ in results)
    await connector.wait_until(lambda c: len(channel_cards(c)) == 5, timeout=20, what="5 cards")

    def settled(c) -> bool:
        counts = [re.search(r"\((\d+) webhooks? here\)", json.dumps(latest_card(c, s.new_id))) for s in channel_cards(c)]
        return all(counts) and sum(int(m.group(1)) for m in counts) == 200

    await connector.wait_until(settled, timeout=30, what="every webhook counted on the cards")
    await asyncio.sleep(1)
    assert len(channel_cards(connector)) == 5
    for sent in channel_cards(connector):
        assert '"value": "40 (' in json.dumps(latest_card(connector, sent.new_id))  # the highest count wins
    # Teams' limits: never more than 7 sends to one thread (the channel itself for new posts, each card's thread
    # for its updates) in any second, nor 50 for the whole app.
    threads: dict[str, list[float]] = {}
    for s in connector.sent:
        threads.setdefault(s.conversation_id, []).append(s.at)
    for times in threads.values():
        times.sort()
        assert all(times[i + 7] - times[i] >= 0.99 for i in range(len(times) - 7))
    app = sorted(s.at for s in connector.sent)
    assert all(app[i + 50] - app[i] >= 0.99 for i in range(len(app) - 50))


async def test_alert_waits_for_a_channel_across_a_restart_and_a_lead_sets_it(http, start_bot, rotation, desk_env, connector):
    env = {**desk_env, "BUGSNAG_WEBHOOK_SECRET": SECRET}
    first = start_bot(**env)
    assert (await hook(http, first, PAYLOAD))[0] == 200
    await asyncio.to_thread(first.stop)
    second = start_bot(**env)
    mention = activities.channel_mention("alerts here", connector.url, aad=LARS, name="Lars Lead")
    mention["channelData"]["channel"]["id"] = "19:bugsnag0channel0id@thread.tacv2"
    mention["conversation"]["id"] = f"19:bugsnag0channel0id@thread.tacv2;messageid={mention['id']}"
    await post(http, second, mention)
    await connector.wait_until(lambda c: channel_cards(c), timeout=15, what="the waiting alert")
    assert any("post Bugsnag alerts in this channel" in t for t in connector.texts())
    assert len(channel_cards(connector)) == 1


async def test_only_a_lead_sets_the_alert_channel(http, start_bot, rotation, desk_env, connector):
    bot = start_bot(**desk_env, BUGSNAG_WEBHOOK_SECRET=SECRET)
    await post(http, bot, activities.channel_mention("alerts here", connector.url, aad=DORA, name="Dora Dev"))
    await connector.wait_for(1)
    assert "Only a lead" in connector.texts()[0]


async def click_alert(http, bot, connector, card_id, verb, who, **inputs):
    card = latest_card(connector, card_id)
    data = dict(find_action(card, verb)["data"], **inputs)
    activity = activities.card_action(verb, data, connector.url, reply_to=card_id, aad=who, name=NAMES[who],
                                      conversation_id=f"{CHANNEL};messageid={card_id}")
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


async def test_handling_posts_in_the_thread_and_stops_escalation(http, alert_bot, connector):
    await hook(http, alert_bot, PAYLOAD)
    await connector.wait_until(lambda c: channel_cards(c), what="the card")
    card_id = channel_cards(connector)[0].new_id
    body = await click_alert(http, alert_bot, connector, card_id, "alert.handle", DORA)
    assert "Being handled by Dora Dev" in json.dumps(body["value"])
    assert any("Being handled by <at>Dora Dev</at>" in t for t in connector.texts())
    outsider = await click_alert(http, alert_bot, connector, card_id, "alert.ticket", OLGA)
    assert "Only the current support pair" in outsider["value"]
    await asyncio.sleep(3)
    assert not any("⏰" in t for t in thread_texts(connector, card_id))


async def test_unhandled_production_alert_escalates_to_pair_then_leads(http, alert_bot, connector):
    await hook(http, alert_bot, PAYLOAD)
    await connector.wait_until(lambda c: channel_cards(c), what="the card")
    card_id = channel_cards(connector)[0].new_id
    await connector.wait_until(lambda c: any("⏰" in t for t in thread_texts(c, card_id)), timeout=8, what="pair escalation")
    assert "<at>Dora Dev</at>" in next(t for t in thread_texts(connector, card_id) if "⏰" in t)
    await connector.wait_until(lambda c: any("🚨" in t for t in thread_texts(c, card_id)), timeout=8, what="lead escalation")
    assert "<at>Lars Lead</at>" in next(t for t in thread_texts(connector, card_id) if "🚨" in t)


async def test_staging_alerts_do_not_escalate_and_snooze_works(http, alert_bot, connector):
    await hook(http, alert_bot, payload(error_id="staging1", stage="staging"))
    await hook(http, alert_bot, payload(error_id="prod1"))
    await connector.wait_until(lambda c: len(channel_cards(c)) == 2, what="two cards")
    staging, prod = sorted(channel_cards(connector), key=lambda s: "staging" not in json.dumps(s.body))
    body = await click_alert(http, alert_bot, connector, prod.new_id, "alert.snooze", DORA, hours=1)
    assert "Snoozed until" in json.dumps(body["value"])
    await asyncio.sleep(3.5)
    assert not any("⏰" in t for t in thread_texts(connector, staging.new_id) + thread_texts(connector, prod.new_id))


async def test_one_jira_ticket_per_error_even_with_double_clicks(http, alert_bot, connector, jira):
    await hook(http, alert_bot, PAYLOAD)
    await connector.wait_until(lambda c: channel_cards(c), what="the card")
    card_id = channel_cards(connector)[0].new_id
    await asyncio.gather(*(click_alert(http, alert_bot, connector, card_id, "alert.ticket", who) for who in (DORA, DORA, LARS)))
    await connector.wait_until(lambda c: any("EDGE-1" in t for t in thread_texts(c, card_id)), timeout=10, what="the ticket")
    await hook(http, alert_bot, payload(occurrences=9))  # a repeat keeps the remembered ticket
    await asyncio.sleep(3)
    assert len(jira.issues) == 1
    issue = jira.issues[0]
    assert issue.fields["summary"].startswith("[Bugsnag] NoMethodError")
    assert "app.bugsnag.com" in json.dumps(issue.fields["description"])
    assert "EDGE-1" in json.dumps(latest_card(connector, card_id))


async def test_reopened_error_posts_a_new_card_linked_to_the_old_thread(http, alert_bot, connector):
    await hook(http, alert_bot, PAYLOAD)
    await connector.wait_until(lambda c: channel_cards(c), what="the first card")
    await hook(http, alert_bot, payload(trigger="exception", occurrences=5))
    await hook(http, alert_bot, payload(trigger="reopened", occurrences=6))
    await connector.wait_until(lambda c: len(channel_cards(c)) == 2, timeout=10, what="a fresh card")
    fresh = channel_cards(connector)[1].body["attachments"][0]["content"]
    assert "Earlier thread for this error" in json.dumps(fresh)
    assert channel_cards(connector)[0].new_id in json.dumps(fresh)


async def test_logs_carry_ids_and_never_the_secrets(http, alert_bot, connector, jira):
    async with http.post(f"{alert_bot.url}/api/bugsnag/{SECRET}", json=PAYLOAD, headers={"x-request-id": "req-42"}) as r:
        assert r.headers["x-request-id"] == "req-42"
    await connector.wait_until(lambda c: channel_cards(c), what="the card")
    await post(http, alert_bot, activities.channel_mention("the export is broken", connector.url, aad=OLGA))
    await connector.wait_until(lambda c: c.cards() and len(c.cards()) >= 2, what="the request card")
    await asyncio.to_thread(alert_bot.stop)
    log = alert_bot.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines, log
    assert SECRET not in log and jira.api_token not in log
    stored = next(e for e in lines if e["message"].startswith("bugsnag alert stored"))
    assert stored["request_id"] == "req-42" and stored["path"] == "/api/bugsnag/***"
    acked = next(e for e in lines if e["message"] == "support request acknowledged")
    assert acked["activity_id"] and acked["request_id"] and acked["conversation_id"].endswith(acked["activity_id"])
