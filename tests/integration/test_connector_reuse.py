"""botbuilder's Connector clients, as bot/teams makes them, are made once per serviceUrl and shared.

Turns and proactive sends run through the real adapter and messenger against the loopback Connector stand-in,
which records the TCP connection each request arrived on. A new client per send would also mean a new connection
per send; a shared one keeps a few open, at most one per send thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.config import Settings
from bot.core.events import Card, Direct, Post, Text, Update
from bot.domain.jobs import RetryLater
from bot.domain.requests import Person
from bot.storage.conversations import TableConversationRepository
from bot.teams.auth import CONNECTOR_CLIENTS, build_adapter
from bot.teams.proactive import TeamsMessenger, conversation_reference
from bot.web.pacing import ConversationPacer
from bot.web.references import address
from tests.conftest import serve
from tests.support import activities
from tests.support.connector import ACTIVITIES_PATH, Connector

TENANT = activities.TENANT
CHANNELS = [f"19:channel{i}@thread.tacv2" for i in range(8)]
DORA = Person("6a1f2e8c-0000-4000-8000-00000000d001", "Dora Dev")
TIMEOUT = 1.0
SEND_THREADS = 4


@pytest.fixture
async def send_threads():
    """botbuilder sends from the loop's default executor; a small one bounds the connections a send may open."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="send"))


@pytest.fixture
def settings() -> Settings:
    return Settings()  # no app id: local mode, as the stand-in takes any send


@pytest.fixture
def adapter(settings):
    return build_adapter(settings, connector_timeout=TIMEOUT)


@pytest.fixture
def messenger(adapter, settings, store):
    return TeamsMessenger(adapter, settings, TableConversationRepository(store), ConversationPacer())


async def reply_turn(adapter, service_url: str, replies: int) -> object:
    """One inbound 1:1 message, authenticated as the edge does it, answered `replies` times; the turn's client."""
    activity = Activity().deserialize(activities.personal("hello", service_url))
    verdict = await adapter.bot_framework_authentication.authenticate_request(activity, None)
    seen = {}

    async def logic(turn_context: TurnContext) -> None:
        seen["client"] = turn_context.turn_state[adapter.BOT_CONNECTOR_CLIENT_KEY]
        for n in range(replies):
            await turn_context.send_activity(f"reply {n}")

    await adapter.process_activity(verdict, activity, logic)
    return seen["client"]


async def proactive_client(adapter, settings, service_url: str, channel: str = CHANNELS[0]) -> object:
    """The client a proactive turn to a conversation is given."""
    seen = {}

    async def logic(turn_context: TurnContext) -> None:
        seen["client"] = turn_context.turn_state[adapter.BOT_CONNECTOR_CLIENT_KEY]

    await adapter.continue_conversation(conversation_reference(address(service_url, channel, TENANT, "channel"), settings),
                                        logic, settings.bot_id)
    return seen["client"]


async def post(messenger, service_url: str, channel: str, text: str) -> str:
    return await messenger.send(Post(address(service_url, channel, TENANT, "channel"), Text(text)))


async def test_replies_and_proactive_sends_share_one_client(send_threads, adapter, settings, messenger, connector):
    authentication = adapter.bot_framework_authentication
    turn_clients = [await reply_turn(adapter, connector.url, replies=2) for _ in range(10)]
    # Proactive posts to several conversations at once, a 1:1 chat created and written to, and a card update.
    await asyncio.gather(*(post(messenger, connector.url, channel, f"post {n}")
                           for n in range(5) for channel in CHANNELS))
    await messenger.send(Direct(DORA, Text("You're on support"), address(connector.url, "a:other", TENANT)))
    await messenger.send(Update(address(connector.url, CHANNELS[0], TENANT, "channel"), "bot-1",
                                Card({"type": "AdaptiveCard", "version": "1.5", "body": []})))
    proactive = [await proactive_client(adapter, settings, connector.url, channel) for channel in CHANNELS]

    assert len(connector.sent) == 10 * 2 + 5 * len(CHANNELS) + 1 + 1 and len(connector.created) == 1
    assert len({id(client) for client in turn_clients + proactive}) == 1
    assert authentication.connector_clients == 1
    # 63 requests: one connection per send thread at most, where a client per send would have opened one each.
    assert len(connector.attempts) == 63
    assert connector.connections() <= SEND_THREADS

    await authentication.close()  # as the app does when it stops
    assert authentication.connector_clients == 0


async def test_bursts_of_sends_keep_their_connections(adapter, messenger, connector, caplog):
    # As many send threads as the app has, and more sends at once than requests' default pool of 10 keeps.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="send"))
    channels = [f"19:burst{i}@thread.tacv2" for i in range(20)]
    for burst in range(2):
        await asyncio.gather(*(post(messenger, connector.url, channel, f"burst {burst}") for channel in channels))
    assert len(connector.sent) == 40
    assert connector.connections() <= len(channels)  # the second burst found the first one's connections open
    assert not [r for r in caplog.records if r.name.startswith("urllib3") and r.levelno >= logging.WARNING]


async def test_another_service_url_gets_its_own_client(send_threads, adapter, settings, messenger, connector):
    other = Connector()
    runner, url = await serve(other.app())
    other.url = url + "/"
    try:
        for n in range(3):
            await post(messenger, connector.url, CHANNELS[0], f"here {n}")
            await post(messenger, other.url, CHANNELS[0], f"there {n}")
        here = await proactive_client(adapter, settings, connector.url)
        there = await proactive_client(adapter, settings, other.url)
        assert here is not there
        assert here is await reply_turn(adapter, connector.url, replies=1)
        assert there is await reply_turn(adapter, other.url, replies=1)
        assert adapter.bot_framework_authentication.connector_clients == 2
        assert connector.texts() == ["here 0", "here 1", "here 2", "reply 0"]
        assert other.texts() == ["there 0", "there 1", "there 2", "reply 0"]
        assert connector.connections() == 1 and other.connections() == 1  # one send at a time: one each
    finally:
        await runner.cleanup()


async def test_the_clients_kept_are_bounded(send_threads, adapter, settings, connector):
    authentication = adapter.bot_framework_authentication
    first = await proactive_client(adapter, settings, connector.url)
    held, evicted = asyncio.Event(), asyncio.Event()

    async def late_reply(turn_context: TurnContext) -> None:
        held.set()
        await evicted.wait()
        await turn_context.send_activity("sent after its client was evicted")

    # A proactive turn holds the client while odd serviceUrls (one each, never answered) push it out of the cache.
    turn = asyncio.create_task(adapter.continue_conversation(
        conversation_reference(address(connector.url, CHANNELS[0], TENANT, "channel"), settings), late_reply,
        settings.bot_id))
    await held.wait()
    odd = [f"https://smba.example.invalid/{n}/" for n in range(CONNECTOR_CLIENTS + 8)]
    factory = authentication.create_connector_factory(adapter.create_claims_identity(settings.bot_id))
    made = [await factory.create(service_url) for service_url in odd]
    assert authentication.connector_clients == CONNECTOR_CLIENTS
    evicted.set()
    await turn
    # Its client was closed when it was pushed out; closing drops idle connections only, and it sends on.
    assert connector.texts() == ["sent after its client was evicted"]

    # The most recent are kept; a serviceUrl pushed out gets a new client, which pushes out the oldest left.
    assert await factory.create(odd[-1]) is made[-1]
    again = await proactive_client(adapter, settings, connector.url)
    assert again is not first and again is await proactive_client(adapter, settings, connector.url)
    assert await factory.create(odd[9]) is made[9]
    assert await factory.create(odd[8]) is not made[8]
    assert authentication.connector_clients == CONNECTOR_CLIENTS


async def test_a_shared_client_keeps_its_timeout_and_single_attempt(send_threads, adapter, settings, messenger, connector):
    where = address(connector.url, CHANNELS[0], TENANT, "channel")
    client = await proactive_client(adapter, settings, connector.url)
    for _ in range(2):  # the same settings on every call, not only the first
        assert await post(messenger, connector.url, CHANNELS[0], "fine")

        connector.fail(path=ACTIVITIES_PATH, mode="hang", seconds=TIMEOUT + 2)
        started, tried = time.monotonic(), len(connector.attempts)
        with pytest.raises(RetryLater, match="did not answer in time"):
            await post(messenger, connector.url, CHANNELS[0], "hung")
        assert time.monotonic() - started < TIMEOUT + 1.5 and len(connector.attempts) == tried + 1

        connector.fail(times=10, method="PUT", status=503, body={"error": {"code": "ServiceUnavailable"}},
                       headers={"Retry-After": "30"})
        tried = len(connector.attempts)
        with pytest.raises(RetryLater, match="503"):
            await messenger.send(Update(where, "card-1", Card({"type": "AdaptiveCard", "version": "1.5", "body": []})))
        assert len(connector.attempts) == tried + 1  # urllib3 would retry a PUT on 503 by itself
        connector.failures.clear()

        connector.fail(path=ACTIVITIES_PATH, mode="reset")
        with pytest.raises(RetryLater, match="dropped the connection"):
            await post(messenger, connector.url, CHANNELS[0], "reset")

        connector.fail(times=2, path=ACTIVITIES_PATH, status=429, body={"error": {"code": "Throttled"}},
                       headers={"Retry-After": "0"})
        tried = len(connector.attempts)
        assert await post(messenger, connector.url, CHANNELS[0], "throttled twice")
        assert len(connector.attempts) == tried + 3  # the in-call retries are ours, one request each

    assert await proactive_client(adapter, settings, connector.url) is client
    assert adapter.bot_framework_authentication.connector_clients == 1
    assert connector.texts() == ["fine", "throttled twice"] * 2
