"""Malformed requests get a 4xx with a reason, and the process stays up."""

import json

import pytest

from tests.support import activities
from tests.support.processes import Azurite

SECRET = "s3cr3t-webhook-token-0123456789abcdef"


def activity_with(raw_value: bytes, service_url: str) -> bytes:
    """A valid personal message with one extra field holding a raw JSON value."""
    body = json.dumps(activities.personal("who", service_url)).encode()
    return body[:-1] + b', "extra": ' + raw_value + b"}"


# Bodies that are JSON to a lenient parser, or would make Python's json module raise, refused alike by both endpoints.
HOSTILE_JSON = [
    pytest.param(b"[" * 200_000, id="deep-nesting"),
    pytest.param(b'{"a":' * 20_000 + b"1" + b"}" * 20_000, id="deep-objects"),
    pytest.param(b"9" * 5000, id="5000-digit-number"),
    pytest.param(b'{"error": {"occurrences": ' + b"9" * 5000 + b"}}", id="5000-digit-field"),
    pytest.param(b'{"error": {"occurrences": 1e999}}', id="1e999"),
    pytest.param(b'{"error": {"occurrences": NaN}}', id="NaN"),
    pytest.param(b'{"error": {"usersAffected": -Infinity}}', id="minus-Infinity"),
    pytest.param(rb'{"error": {"message": "\\ud800 \ud800"}}', id="lone-surrogate"),
]


def assert_survived(bot) -> None:
    assert bot.alive()
    assert "Traceback" not in bot.log()


@pytest.mark.parametrize("body", HOSTILE_JSON)
async def test_hostile_json_gets_400_from_the_messaging_endpoint(http, bot, body):
    async with http.post(f"{bot.url}/api/messages", data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert "error" in await response.json()
    assert_survived(bot)


@pytest.mark.parametrize(
    "value", [pytest.param(b"1e999", id="1e999"), pytest.param(b"NaN", id="NaN"), pytest.param(b"1" * 5000, id="5000-digits"),
              pytest.param(b"[" * 100 + b"]" * 100, id="100-levels")],
)
async def test_a_hostile_value_inside_an_activity_gets_400(http, bot, connector, value):
    async with http.post(f"{bot.url}/api/messages", data=activity_with(value, connector.url),
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
    assert connector.sent == []
    assert_survived(bot)


@pytest.fixture
def bugsnag_bot(start_bot, seeded):
    return start_bot(BUGSNAG_WEBHOOK_SECRET=SECRET)


@pytest.mark.parametrize("body", HOSTILE_JSON)
async def test_hostile_json_gets_400_from_the_bugsnag_endpoint(http, bugsnag_bot, body):
    async with http.post(f"{bugsnag_bot.url}/api/bugsnag/{SECRET}", data=body,
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert "error" in await response.json()
    assert_survived(bugsnag_bot)


async def test_the_bugsnag_secret_is_checked_before_the_body(http, bugsnag_bot):
    async with http.post(f"{bugsnag_bot.url}/api/bugsnag/wrong-secret-wrong-secret-123", data=b"[" * 200_000,
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 404
    assert_survived(bugsnag_bot)


async def test_a_channel_other_than_teams_gets_403(http, bot, connector):
    activity = activities.personal("who", connector.url)
    activity["channelId"] = "webchat"
    async with http.post(f"{bot.url}/api/messages", json=activity) as response:
        assert response.status == 403
    assert connector.sent == []
    assert_survived(bot)


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
