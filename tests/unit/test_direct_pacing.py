"""Creating a 1:1 chat is a request to Teams too: both adapters take a place in the pacer for it, then for the page."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from bot.core.events import Direct, Text
from bot.domain.requests import Person
from bot.web.pacing import ConversationPacer
from bot.web.references import address

VIA = address("https://smba.example/", "19:backend@thread.tacv2;messageid=1", "tenant", "channel")


class RecordingPacer(ConversationPacer):
    """The pacer, noting each slot's conversation and what happened inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    @contextlib.asynccontextmanager
    async def slot(self, where, priority=2):
        async with super().slot(where, priority):
            self.log.append(f"slot {self.key(where)}")
            yield


class Conversations:
    async def address(self, kind, key):
        return None

    async def remember_address(self, kind, key, where):
        pass


class Turn:
    def __init__(self, pacer: RecordingPacer) -> None:
        self.pacer = pacer
        self.activity = SimpleNamespace(service_url="https://smba.example/", conversation=SimpleNamespace(id="a:chat-dora"))

    async def send_activity(self, activity):
        self.pacer.log.append("send")
        return SimpleNamespace(id="m1")


class BotbuilderAdapter:
    def __init__(self, pacer: RecordingPacer) -> None:
        self.pacer = pacer

    async def create_conversation(self, bot_id, callback, parameters, channel_id=None, service_url=None):
        self.pacer.log.append("create")
        await callback(Turn(self.pacer))

    async def continue_conversation(self, reference, callback, bot_id):
        await callback(Turn(self.pacer))


class AgentsAdapter(BotbuilderAdapter):
    async def create_conversation(self, bot_id, channel_id, service_url, audience, parameters, callback):
        self.pacer.log.append("create")
        await callback(Turn(self.pacer))

    async def continue_conversation(self, bot_id, continuation, callback):
        await callback(Turn(self.pacer))


@pytest.mark.parametrize("sdk", ["botbuilder", "agents"])
async def test_the_chat_is_created_inside_a_paced_slot_and_the_page_in_another(sdk):
    pacer = RecordingPacer()
    if sdk == "botbuilder":
        from bot.teams.proactive import TeamsMessenger as Messenger
        adapter = BotbuilderAdapter(pacer)
    else:
        from bot.agents.proactive import AgentsMessenger as Messenger
        adapter = AgentsAdapter(pacer)
    messenger = Messenger(adapter, SimpleNamespace(bot_id=""), Conversations(), pacer)
    await messenger.send(Direct(Person("dora-aad", "Dora Dev"), Text("New #backend request"), VIA))
    assert pacer.log[0].startswith("slot new 1:1 chat|dora-aad") and pacer.log[1] == "create"
    assert pacer.log[2].startswith("slot a:chat-dora") and pacer.log[3] == "send"
