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
