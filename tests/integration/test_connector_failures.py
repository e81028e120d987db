"""The Teams messenger against the Connector stand-in failing on demand: what is retried later, what is final.

The messenger is the bot's own, on each Teams adapter (botbuilder's Connector client as bot/teams builds it, the
Agents SDK's with bot/agents' client factory); the stand-in answers with the Connector's wire format, hangs, resets
or loses its answers.
"""

from __future__ import annotations

import time

import pytest

from bot.config import Settings
from bot.domain.errors import DeliveryFailed
from bot.domain.jobs import RetryLater
from bot.core.events import Card, Direct, Post, Text, Update
from bot.domain.address import Address
from bot.domain.requests import Person
from bot.web.references import address
from bot.storage.conversations import TableConversationRepository
from bot.teams.auth import build_adapter
from bot.web.pacing import ConversationPacer
from bot.teams.proactive import TeamsMessenger
from tests.support.connector import ACTIVITIES_PATH, CREATE_PATH
from tests.support.processes import free_port

TENANT = "3f0c7b52-0000-4000-8000-0000000000aa"
CHANNEL = "19:backend0channel0id@thread.tacv2"
DORA = Person("6a1f2e8c-0000-4000-8000-00000000d001", "Dora Dev")
TIMEOUT = 1.0


def teams_error(code: str, message: str = "refused") -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture(params=["botbuilder", "agents"])
async def messenger(request, store):
    settings = Settings()
    if request.param == "botbuilder":
        yield TeamsMessenger(build_adapter(settings, connector_timeout=TIMEOUT), settings,
                             TableConversationRepository(store), ConversationPacer())
        return
    from microsoft_agents.hosting.aiohttp import CloudAdapter

    from bot.agents.connector import ClientFactory
    from bot.agents.proactive import AgentsMessenger

    clients = ClientFactory(None, timeout=TIMEOUT)
    yield AgentsMessenger(CloudAdapter(channel_service_client_factory=clients), settings,
                          TableConversationRepository(store), ConversationPacer())
    await clients.close()


def channel(connector) -> Address:
    return address(connector.url, CHANNEL, TENANT, "channel")


async def post(messenger, where: Address, text: str) -> str:
    return await messenger.send(Post(where, Text(text)))


async def update(messenger, where: Address, card_id: str) -> None:
    await messenger.send(Update(where, card_id, Card({"type": "AdaptiveCard", "version": "1.5", "body": []})))


@pytest.mark.parametrize(
    "status, code",
    [
        (404, "ConversationNotFound"),
        (403, "BotNotInConversationRoster"),
        (403, "ConversationBlockedByUser"),
        (403, "BotDisabledByAdmin"),
        (413, "MessageSizeTooBig"),
        (400, "BadArgument"),
    ],
)
async def test_refusals_are_final_and_name_the_conversation(messenger, connector, status, code):
    connector.fail(path=ACTIVITIES_PATH, status=status, body=teams_error(code, "Line one.\nLine two."))
    with pytest.raises(DeliveryFailed) as caught:
        await post(messenger, channel(connector), "hello")
    assert caught.value.code == code and caught.value.status == status
    message = str(caught.value)
    assert "\n" not in message and CHANNEL in message and code in message and "Line one. Line two." in message
    assert len(connector.attempts) == 1  # never retried


async def test_a_refused_1to1_names_the_person(messenger, connector):
    connector.fail(method="POST", path=CREATE_PATH, status=403, body=teams_error("UserNotFound", "User not found."))
    with pytest.raises(DeliveryFailed) as caught:
        await messenger.send(Direct(DORA, Text("You're on support"), address(connector.url, "a:other", TENANT)))
    assert caught.value.code == "UserNotFound"
    assert str(caught.value).startswith("writing to Dora Dev")
    assert connector.created == [] and connector.sent == []


@pytest.mark.parametrize("status", [500, 502, 503, 504, 412, 429, 401])
async def test_transient_answers_that_persist_become_retry_later(messenger, connector, status):
    connector.fail(times=100, path=ACTIVITIES_PATH, status=status, body=teams_error("ServiceError"))
    started = time.monotonic()
    with pytest.raises(RetryLater):
        await post(messenger, channel(connector), "hello")
    assert time.monotonic() - started < 6  # the short in-call budget, then the job runner waits
    assert connector.sent == []


async def test_a_long_retry_after_is_handed_to_the_job_runner_at_once(messenger, connector):
    connector.fail(path=ACTIVITIES_PATH, status=429, body=teams_error("Throttled"), headers={"Retry-After": "120"})
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        await post(messenger, channel(connector), "hello")
    assert caught.value.after_seconds == 120
    assert time.monotonic() - started < 1
    assert len(connector.attempts) == 1


async def test_short_throttling_is_retried_within_the_call(messenger, connector):
    connector.fail(times=2, path=ACTIVITIES_PATH, status=429, body=teams_error("Throttled"), headers={"Retry-After": "0"})
    assert await post(messenger, channel(connector), "hello")
    assert len(connector.attempts) == 3 and len(connector.sent) == 1


async def test_a_failed_card_update_is_tried_once_with_its_status(messenger, connector):
    # urllib3 would retry a PUT on 503 three times by itself and report no status; the adapter turns that off.
    connector.fail(times=10, method="PUT", status=503, body=teams_error("ServiceUnavailable"), headers={"Retry-After": "30"})
    with pytest.raises(RetryLater) as caught:
        await update(messenger, channel(connector), "card-1")
    assert caught.value.after_seconds == 30 and "503" in str(caught.value)
    assert connector.attempts == [("PUT", f"/v3/conversations/{CHANNEL}/activities/card-1")]


@pytest.mark.parametrize("mode", ["hang", "reset", "lose"])
async def test_no_answer_is_retried_later_not_now(messenger, connector, mode):
    connector.fail(path=ACTIVITIES_PATH, mode=mode, seconds=TIMEOUT + 2)
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        await post(messenger, channel(connector), "hello")
    assert time.monotonic() - started < TIMEOUT + 1.5
    assert len(connector.attempts) == 1  # Teams may have posted it: no quick second try
    assert ("did not answer in time" if mode == "hang" else "dropped the connection") in str(caught.value)
    # A lost answer means the message was posted; the job's retry may post it again (Teams has no idempotency key).
    assert len(connector.sent) == (1 if mode == "lose" else 0)


async def test_an_unreachable_connector_is_retried_later(messenger):
    dead = address(f"http://127.0.0.1:{free_port()}/", CHANNEL, TENANT, "channel")
    with pytest.raises(RetryLater, match="could not be reached"):
        await post(messenger, dead, "hello")


async def test_a_hung_card_update_times_out_once(messenger, connector):
    # A PUT's timeout reaches us wrapped differently from a POST's (urllib3 counts it against its retries).
    connector.fail(method="PUT", mode="hang", seconds=TIMEOUT + 2)
    started = time.monotonic()
    with pytest.raises(RetryLater, match="did not answer in time"):
        await update(messenger, channel(connector), "card-1")
    assert time.monotonic() - started < TIMEOUT + 1.5
    assert len(connector.attempts) == 1
