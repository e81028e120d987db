"""Malformed requests get a 4xx with a reason, and the process stays up."""

import json

import pytest

from tests.support import activities
from tests.support.processes import Azurite


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        pytest.param(b"{not json", "application/json", 400, id="malformed-json"),
        pytest.param(b"\xff\xfe\x00", "application/json", 400, id="not-utf8"),
        pytest.param(b"[1, 2]", "application/json", 400, id="array-not-activity"),
        pytest.param(b'"text"', "application/json", 400, id="string-not-activity"),
        pytest.param(b"{}", "application/json", 400, id="empty-object"),
        pytest.param(json.dumps({"type": "message", "text": "who"}).encode(), "application/json", 400, id="missing-fields"),
        pytest.param(json.dumps({"type": "message", "serviceUrl": "ftp://x", "conversation": {"id": "a"}, "from": {"id": "u"}}).encode(), "application/json", 400, id="bad-service-url"),
        pytest.param(json.dumps({"type": 42, "conversation": "nope"}).encode(), "application/json", 400, id="wrong-types"),
        pytest.param(b"type=message", "application/x-www-form-urlencoded", 415, id="wrong-content-type"),
        pytest.param(b"{}", "text/plain", 415, id="text-plain"),
        pytest.param(b"{" + b'"a":"' + b"x" * (1024 * 1024) + b'"}', "application/json", 413, id="one-megabyte"),
    ],
)
async def test_bad_requests_get_4xx_and_the_bot_stays_up(http, bot, connector, body, content_type, status):
    async with http.post(f"{bot.url}/api/messages", data=body, headers={"Content-Type": content_type}) as response:
        assert response.status == status
        assert "error" in await response.json()
    async with http.get(f"{bot.url}/healthz") as health:
        assert health.status == 200
    assert bot.alive()
    assert "Traceback" not in bot.log()


async def test_get_on_messages_is_not_allowed(http, bot):
    async with http.get(f"{bot.url}/api/messages") as response:
        assert response.status == 405


async def test_one_megabyte_without_content_length_is_refused(http, bot):
    async def chunks():
        yield b'{"type":"message","text":"'
        for _ in range(1024):
            yield b"x" * 1024
        yield b'"}'

    async with http.post(f"{bot.url}/api/messages", data=chunks(), headers={"Content-Type": "application/json"}) as response:
        assert response.status == 413
    assert bot.alive()


async def test_a_mention_with_huge_unicode_text_is_handled(http, bot, connector):
    text = "Größe 🚚 <b>fett</b> " * 2000
    async with http.post(f"{bot.url}/api/messages", json=activities.personal(text, connector.url)) as response:
        assert response.status == 201
    (sent,) = await connector.wait_for(1)
    assert "help" in sent.body["text"]


async def test_healthz_reports_table_storage_outage(http, start_bot):
    own = Azurite().start()
    try:
        bot = start_bot(TABLES_CONNECTION_STRING=own.connection_string)
        async with http.get(f"{bot.url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
        own.stop()
        async with http.get(f"{bot.url}/healthz") as response:
            assert response.status == 503
            assert (await response.json())["status"] == "table storage unreachable"
        assert bot.alive()
    finally:
        own.stop()


async def test_storage_outage_during_a_command_gets_a_clear_answer(http, start_bot, connector):
    own = Azurite().start()
    try:
        bot = start_bot(TABLES_CONNECTION_STRING=own.connection_string)
        own.stop()
        async with http.post(f"{bot.url}/api/messages", json=activities.personal("who", connector.url)) as response:
            assert response.status == 201
        (sent,) = await connector.wait_for(1, timeout=20)
        assert "can't reach the rotation data" in sent.body["text"]
    finally:
        own.stop()
