"""When Teams refuses or drops a message: the bot answers Teams 2xx, logs one line, and retries what may still go out."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.conftest import post
from tests.e2e.test_requests import open_request
from tests.support import activities
from tests.support.connector import ACTIVITIES_PATH, CREATE_PATH


def log_lines(bot) -> list[dict]:
    """The bot's JSON log lines."""
    return [json.loads(line) for line in bot.log().splitlines() if line.startswith("{")]


async def wait_for_log(bot, predicate, timeout: float = 10.0) -> list[dict]:
    """The log lines that satisfy predicate, once there is at least one."""
    for _ in range(int(timeout / 0.1)):
        found = [line for line in log_lines(bot) if predicate(line)]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no such log line in:\n{bot.log()}")


def teams_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


async def test_a_reply_to_a_chat_that_is_gone_is_one_warning(http, bot, connector):
    connector.fail(method="POST", path=ACTIVITIES_PATH, status=404,
                   body=teams_error("ConversationNotFound", "Conversation not found."))
    status, _ = await post(http, bot, activities.personal("help", connector.url))
    assert 200 <= status < 300
    (warning,) = await wait_for_log(bot, lambda line: "ConversationNotFound" in line["message"])
    assert warning["level"] == "WARNING"
    assert "replying to Dora Dev" in warning["message"] and "404" in warning["message"]
    assert "\n" not in warning["message"] and "error" not in warning
    await asyncio.sleep(0.5)
    assert connector.attempts == [("POST", "/v3/conversations/a:1personal0chat0id/activities/" + warning["activity_id"])]
    assert [line for line in log_lines(bot) if line["level"] == "ERROR"] == []
    assert bot.alive()
    assert "Traceback" not in bot.log()


async def test_a_refused_1to1_page_is_one_warning_per_person_and_not_retried(http, desk, connector):
    connector.fail(times=2, method="POST", path=CREATE_PATH, status=403,
                   body=teams_error("UserNotFound", "The user is not found in the tenant."))
    opened = await open_request(http, desk, connector)
    assert any("Thanks" in s.body.get("text", "") for s in connector.sent if s.conversation_id == opened.thread)
    for name in ("Dora Dev", "Paula Pair"):
        (warning,) = await wait_for_log(desk, lambda line, name=name: "UserNotFound" in line["message"]
                                        and f"writing to {name}" in line["message"])
        assert warning["level"] == "WARNING" and "403" in warning["message"]
    await asyncio.sleep(3)  # a job that would retry does so after 2 s
    assert [a for a in connector.attempts if a == ("POST", "/v3/conversations")] == [("POST", "/v3/conversations")] * 2
    assert connector.created == []
    assert desk.alive()
    assert "Traceback" not in desk.log()


async def test_a_page_whose_connection_drops_is_sent_again_by_its_job(http, desk, connector):
    # The 1:1 chat is created, then the message to it is cut off: the job must learn of it and try again.
    connector.fail(method="POST", path=r"/v3/conversations/a:1to1-[^/]+/activities(/[^/]+)?", mode="reset")
    await open_request(http, desk, connector)
    await connector.wait_until(lambda c: len([s for s in c.sent if s.conversation_id.startswith("a:1to1-")]) == 2,
                               timeout=15, what="both pages")
    assert "will retry" in desk.log(), connector.attempts
    assert "Traceback" not in desk.log()


async def test_a_refused_1to1_is_told_in_the_thread(http, desk, connector):
    connector.fail(times=1, method="POST", path=CREATE_PATH, status=403,
                   body=teams_error("UserNotFound", "The user is not found in the tenant."))
    opened = await open_request(http, desk, connector)
    await connector.wait_until(lambda c: any("couldn't reach" in t for t in c.texts(opened.thread)),
                               what="the thread told")
    note = next(t for t in connector.texts(opened.thread) if "couldn't reach" in t)
    assert "UserNotFound" in note and ("Dora Dev" in note or "Paula Pair" in note)
    assert sum("couldn't reach" in t for t in connector.texts(opened.thread)) == 1
    assert "Traceback" not in desk.log()


async def test_a_reply_teams_cannot_take_now_is_sent_later_not_lost(http, bot, connector):
    # Longer than the in-turn retry budget: the turn gives up, the reply is queued and sent once Teams is back.
    connector.fail(times=8, method="POST", path=ACTIVITIES_PATH, status=503,
                   body=teams_error("ServiceUnavailable", "Try again later."))
    status, _ = await post(http, bot, activities.personal("help", connector.url))
    assert 200 <= status < 300
    await connector.wait_until(lambda c: any("Here is what I can do" in t for t in c.texts()), timeout=20,
                               what="the reply, sent later")
    assert sum("Here is what I can do" in t for t in connector.texts()) == 1
    assert "Traceback" not in bot.log()


async def test_an_alert_whose_post_fails_for_a_while_arrives_with_every_event_counted(http, start_bot, rotation, desk_env, connector):
    from tests.e2e.test_alerts import CHANNEL, PAYLOAD, SECRET, channel_cards, hook

    bot = start_bot(**desk_env, BUGSNAG_WEBHOOK_SECRET=SECRET, ALERTS_CHANNEL_ID=CHANNEL, TEAMS_SERVICE_URL=connector.url)
    # Teams refuses the alert channel's posts for a while (as in an outage of about 20 s, made shorter here).
    connector.fail(times=6, method="POST", path=rf"/v3/conversations/{CHANNEL}/activities(/[^/]+)?", status=503,
                   body=teams_error("ServiceUnavailable", "Try again later."))
    for _ in range(5):
        assert (await hook(http, bot, PAYLOAD))[0] == 200
        await asyncio.sleep(0.3)
    await connector.wait_until(lambda c: channel_cards(c), timeout=30, what="the alert card after the outage")
    await asyncio.sleep(3)  # a refresh may follow for events that came while it was posted
    assert len(channel_cards(connector)) == 1
    latest = [s for s in connector.sent if s.conversation_id.startswith(CHANNEL) and s.body.get("attachments")][-1]
    assert "(5 webhooks here)" in json.dumps(latest.body)
    assert "Traceback" not in bot.log()
