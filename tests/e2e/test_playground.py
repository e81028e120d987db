"""The bot behind the Microsoft 365 Agents Playground, driven over its HTTP API as a Teams client."""

import asyncio
import json
import os
import re
import sys

import pytest

from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import find_action
from tests.support.playground import Playground
from tests.support.processes import ROOT

pytestmark = pytest.mark.playground


@pytest.fixture
async def playground(bot, handbook, tmp_path):
    async with Playground(bot_endpoint=f"{bot.url}/api/messages", workdir=tmp_path) as pg:
        await pg.config()
        yield pg


def card_of(message: dict) -> dict:
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


async def test_who_in_the_personal_chat_and_refresh(playground):
    dora = playground.user_id("Dora Dev")
    chat = playground.personal_chat_id()
    await playground.send(chat, dora, "who is on support?")
    message = await playground.wait_for_message(lambda m: m.get("attachments"), conversation_id=chat, timeout=15)
    card = card_of(message)
    text = json.dumps(card, ensure_ascii=False)
    assert "Dora Dev (production access) and Paula Prod (production access)" in text
    assert_valid_cards(card)
    answer = await playground.invoke(message["conversationId"], dora, message["messageId"], "who.refresh", {"verb": "who.refresh"})
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Who is on support" in json.dumps(answer["value"])


async def test_mention_in_the_backend_channel_answers_in_the_thread(playground):
    channel = playground.channel_id("backend")
    sent = await playground.send(channel, playground.user_id("Olga Ops"), "help", mention_bot=True)
    reply = await playground.wait_for_message(conversation_id=sent["conversationId"], timeout=15)
    assert "**who**" in reply["text"]


async def test_install_in_the_team_greets(playground):
    await playground.inject(playground.team_id, "install")
    greeting = await playground.wait_for_message(lambda m: "Hi team" in (m.get("text") or ""), timeout=15)
    assert "#backend" in greeting["text"]


async def test_pick_card_in_the_backend_channel_and_suggest_another(playground):
    channel = playground.channel_id("backend")
    dora = playground.user_id("Dora Dev")
    sent = await playground.send(channel, dora, "pick", mention_bot=True)
    message = await playground.wait_for_message(lambda m: m.get("attachments"), conversation_id=sent["conversationId"], timeout=20)
    card = card_of(message)
    assert_valid_cards(card)
    assert "Support pair for the next iteration" in json.dumps(card)
    data = next(a["data"] for a in card["actions"] if a.get("verb") == "plan.another")
    answer = await playground.invoke(message["conversationId"], dora, message["messageId"], "plan.another", data)
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    card = answer["value"]
    assert_valid_cards(card)
    data = next(a["data"] for a in card["actions"] if a.get("verb") == "plan.confirm")
    confirmed = await playground.invoke(message["conversationId"], dora, message["messageId"], "plan.confirm", data)
    assert "Confirmed by Dora Dev" in json.dumps(confirmed["value"])


async def test_request_with_a_handbook_answer_sent_in_one_click(playground):
    channel = playground.channel_id("backend")
    sent = await playground.send(channel, playground.user_id("Olga Ops"), "Fahrer kann sich nicht in die Fahrer-App einloggen", mention_bot=True)
    message = await playground.wait_for_message(lambda m: m.get("attachments"), conversation_id=sent["conversationId"], timeout=20)
    card = card_of(message)
    assert_valid_cards(card)
    send = find_action(card, "request.send_answer")
    assert send["data"]["entry"] == "courier-app-login-fails"
    answer = await playground.invoke(message["conversationId"], playground.user_id("Dora Dev"), message["messageId"],
                                     "request.send_answer", send["data"])
    assert "Outcome: **Documented** by Dora Dev" in json.dumps(answer["value"], ensure_ascii=False)
    reply = await playground.wait_for_message(lambda m: "Courier app login fails" in (m.get("text") or ""),
                                              conversation_id=sent["conversationId"], timeout=15)
    assert "admin" in reply["text"].lower()


async def test_stats_in_the_personal_chat_is_a_chart_card(playground):
    chat = playground.personal_chat_id()
    await playground.send(chat, playground.user_id("Dora Dev"), "stats")
    message = await playground.wait_for_message(lambda m: m.get("attachments"), conversation_id=chat, timeout=15)
    card = card_of(message)
    assert_valid_cards(card)
    shown = json.dumps(card, ensure_ascii=False)
    # The demo has no requests yet: the card says so for this iteration instead of drawing empty charts.
    assert "Support figures" in shown and "This iteration" in shown and "No #backend requests in this period." in shown
    assert "Chart." not in shown



async def act_as(playground, *args: str) -> str:
    """Run scripts/act_as.py against the test's Playground; its stdout (stderr goes into the failure message)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts" / "act_as.py"), *args, cwd=ROOT,
        env={**os.environ, "PLAYGROUND_URL": playground.base_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"act_as {args} exited {process.returncode}: {err.decode()}"
    return out.decode()


async def test_act_as_someone_else_with_the_dev_script(playground, tmp_path):
    index = tmp_path / "cards.json"
    watch = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "scripts" / "act_as.py"), "watch", "--playground", playground.base_url,
        "--index", str(index), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    printed: list[str] = []

    async def read_until(text: str) -> None:
        while not any(text in line for line in printed):
            line = await asyncio.wait_for(watch.stdout.readline(), 30)
            assert line, f"watch ended: {printed}"
            printed.append(line.decode())

    try:
        await read_until("watching ")
        said = await act_as(playground, "say", "--as", "olga", "--in", "backend", "the tour export fails")
        thread = re.search(r"#backend thread (\d+)", said).group(1)
        await read_until("I'm on it")  # the triage card and its buttons, indexed for click
        assert any(f"#backend thread {thread}" in line and 'card "Support request"' in line for line in printed)
        (card,) = [c for c in json.loads(index.read_text()) if c["title"] == "Support request"]
        posted = await playground.wait_for_message(lambda m: m.get("attachments"), timeout=15,
                                                   conversation_id=f"{playground.channel_id('backend')};messageid={thread}")
        assert (card["messageId"], card["conversationId"]) == (posted["messageId"], posted["conversationId"])
        assert "Olga Ops · received" in json.dumps(playground.card(posted), ensure_ascii=False)  # from Olga, not Dora

        refused = await act_as(playground, "click", "--as", "Olga", "I'm on it", "--index", str(index))
        assert "Only the current support pair, the fallback and the leads can do that." in refused
        claimed = await act_as(playground, "click", "--as", "paula", "i'm ON it", "--index", str(index))
        assert "Paula Prod is on it" in claimed
        update = await playground.wait_for_update(message_id=card["messageId"], timeout=15)
        assert "Paula Prod is on it" in json.dumps(playground.card(update), ensure_ascii=False)
        await read_until(f"updated message {card['messageId']}")
    finally:
        watch.terminate()
        await watch.wait()
