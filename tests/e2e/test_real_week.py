"""A real week in #backend, end to end through /api/messages: requests that start with command words, thread
messages, absences when paging, people who left, swaps from stored offers, the pick, claimers' rights."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.e2e.conftest import DORA, FRITZ, LARS, NICO, OLGA, PAULA, post
from tests.e2e.test_requests import NAMES, card_in, click, open_request, texts_in
from tests.support import activities
from tests.support.cards import find_action

BEN = "6a1f2e8c-0000-4000-8000-00000000b001"  # a backend colleague who is not on the roster
NAMES = {**NAMES, NICO: "Nico New", BEN: "Ben Backend"}


@pytest.fixture
async def storage(storage_env):
    """The test's tables, to change the roster, weeks and absences the bot reads (as an import would)."""
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings

    services = build_services(load_storage_settings(storage_env))
    yield services
    await services.store.close()


async def change_member(storage, aad: str, **changes) -> None:
    stored = await storage.members.get(aad)
    await storage.members.replace(replace(stored.value, **changes), stored.etag)


async def change_week(storage, change) -> None:
    current = storage.policy.at(storage.clock(), storage.settings.tz)
    stored = await storage.weeks.get(current.start)
    await storage.weeks.replace(change(stored.value), stored.etag)


async def away_today(storage, *people: str) -> None:
    from bot.domain.planning import Absence

    today = storage.clock().astimezone(storage.settings.tz).date()
    for person in people:
        await storage.absences.add(Absence(person, today, today))


def acks(connector, thread: str) -> list[str]:
    return [t for t in texts_in(connector, thread) if t.startswith("Thanks <at>")]


def direct_texts(connector, aad: str) -> list[str]:
    return [s.body.get("text") or "" for s in connector.sent if s.conversation_id == f"a:1to1-{aad}"]


async def mention(http, bot, connector, text: str, who: str = OLGA, channel: str | None = None) -> dict:
    activity = activities.channel_mention(text, connector.url, aad=who, name=NAMES[who], channel=channel)
    status, _ = await post(http, bot, activity)
    assert status == 201
    return activity


# --- 1. requests that start with command words ----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "pick up address is wrong for tour 4711, the driver is at the wrong depot",
    "next tour cannot be started, the app says tour locked",
    "alerts are not sent to the drivers since 16:00",
    "sync with the warehouse failed again",
    "Hilfe, die Fahrer-App stürzt beim Login ab",
    "wer hat die Tour 12 gelöscht? Kunde wartet",
])
async def test_a_request_that_starts_with_a_command_word_pages_the_pair(http, desk, connector, text):
    opened = await open_request(http, desk, connector, text)
    assert len(acks(connector, opened.thread)) == 1
    (ack,) = acks(connector, opened.thread)
    assert "I've paged support: <at>Dora Dev</at> and <at>Paula Pair</at>." in ack
    card, _ = card_in(connector, opened.thread)
    assert "Support request" in json.dumps(card)
    assert not any("Support pair for the next iteration" in json.dumps(c) for c in connector.cards())


async def test_whole_commands_still_work_in_the_request_channel(http, desk, connector):
    await mention(http, desk, connector, "who is on support?", who=OLGA)
    await connector.wait_until(lambda c: c.cards(), what="the who card")
    assert "Who is on support" in json.dumps(connector.cards()[0])
    assert not any(t.startswith("Thanks") for t in connector.texts())


# --- 2. threads -------------------------------------------------------------------------------------------

async def test_the_requester_asking_in_the_thread_gets_the_state_and_pages_nobody_again(http, desk, connector):
    opened = await open_request(http, desk, connector)
    reply = activities.thread_reply(opened.activity, "any news?", connector.url, aad=OLGA, name="Olga Ops", mention=True)
    assert (await post(http, desk, reply))[0] == 201
    # The 1:1s to the pair may still be going out: look for the answer in the thread.
    await connector.wait_until(lambda c: any("This is Olga Ops's request" in t for t in texts_in(c, opened.thread)),
                               what="the state in the thread")
    state = next(t for t in texts_in(connector, opened.thread) if "This is Olga Ops's request" in t)
    assert "This is Olga Ops's request from" in state and "I paged Dora Dev and Paula Pair;" in state
    assert "nobody from support has answered yet" in state
    await asyncio.sleep(0.5)
    assert len(acks(connector, opened.thread)) == 1
    assert sum("I've paged" in t for t in texts_in(connector, opened.thread)) == 1
    assert sum(1 for s in connector.sent if s.body.get("attachments") and s.method == "POST") == 1
    # The requester is not support: the clock keeps running and escalates.
    await connector.wait_until(lambda c: any("⏰" in t for t in texts_in(c, opened.thread)), timeout=8, what="escalation")


async def test_support_mentioning_the_bot_in_the_thread_is_the_first_response(http, desk, connector):
    opened = await open_request(http, desk, connector)
    before = len(connector.sent)
    reply = activities.thread_reply(opened.activity, "I'm on it", connector.url, aad=PAULA, name="Paula Pair", mention=True)
    assert (await post(http, desk, reply))[0] == 201
    await connector.wait_until(lambda c: any(s.method == "PUT" for s in c.sent[before:]), what="the card update")
    card, _ = card_in(connector, opened.thread)
    assert "First response after" in json.dumps(card) and "by Paula Pair" in json.dumps(card)
    await asyncio.sleep(2.8)  # past the 2 s target
    texts = texts_in(connector, opened.thread)
    assert not any("⏰" in t for t in texts) and len(acks(connector, opened.thread)) == 1
    assert sum("I've paged" in t for t in texts) == 1


async def test_a_claimers_plain_reply_in_the_thread_also_counts_and_is_not_a_new_request(http, desk, connector):
    opened = await open_request(http, desk, connector)
    reply = activities.thread_reply(opened.activity, "restart the export please", connector.url, aad=LARS, name="Lars Lead")
    assert (await post(http, desk, reply))[0] == 201
    await asyncio.sleep(2.8)
    assert not any("⏰" in t for t in texts_in(connector, opened.thread))
    assert len(acks(connector, opened.thread)) == 1


async def test_someone_outside_support_answering_first_is_thanked_privately_and_the_clock_runs(http, desk, connector):
    opened = await open_request(http, desk, connector)
    reply = activities.thread_reply(opened.activity, "just restart the export, worked for me", connector.url, aad=BEN,
                                    name="Ben Backend")
    assert (await post(http, desk, reply))[0] == 201
    await connector.wait_until(lambda c: direct_texts(c, f"29:{BEN}") or direct_texts(c, BEN), what="the private thanks")
    thanks = (direct_texts(connector, f"29:{BEN}") or direct_texts(connector, BEN))[0]
    assert "help the pair answer" in thanks and "Open the thread" in thanks
    assert not any("help the pair answer" in t for t in texts_in(connector, opened.thread))
    await connector.wait_until(lambda c: any("⏰" in t for t in texts_in(c, opened.thread)), timeout=8, what="escalation")
    second = activities.thread_reply(opened.activity, "also check the logs", connector.url, aad=BEN, name="Ben Backend")
    await post(http, desk, second)
    await asyncio.sleep(0.5)
    assert len(direct_texts(connector, f"29:{BEN}") + direct_texts(connector, BEN)) == 1  # thanked once


# --- 3. one duty rule: absences when paging ----------------------------------------------------------------

async def test_someone_away_is_not_paged_and_a_gap_pages_the_fallback(http, start_bot, rotation, storage, desk_env, connector):
    await away_today(storage, PAULA)
    bot = start_bot(**desk_env)
    opened = await open_request(http, bot, connector)
    await connector.wait_until(lambda c: len(c.created) >= 2, what="the 1:1s")
    (page,) = acks(connector, opened.thread)
    assert "<at>Paula Pair</at>" not in page
    assert "⚠️ Paula Pair is off today, so only one person is on duty; Fritz Fallback paged as well." in page
    assert "I've paged support: <at>Dora Dev</at> and <at>Fritz Fallback</at>." in page
    await asyncio.sleep(0.3)
    assert {c["members"][0]["id"] for c in connector.created} == {DORA, FRITZ}
    await connector.wait_until(lambda c: any("⏰" in t for t in texts_in(c, opened.thread)), timeout=8, what="escalation")
    assert "<at>Paula Pair</at>" not in next(t for t in texts_in(connector, opened.thread) if "⏰" in t)


async def test_without_production_access_on_duty_the_leads_are_paged(http, start_bot, rotation, storage, desk_env, connector):
    await away_today(storage, DORA, FRITZ)
    bot = start_bot(**desk_env)
    opened = await open_request(http, bot, connector)
    (page,) = acks(connector, opened.thread)
    assert "Dora Dev and Fritz Fallback are off today" in page or "Dora Dev is off today" in page
    assert "nobody on duty has production access" in page and "<at>Lars Lead</at>" in page
    assert "<at>Dora Dev</at>" not in page and "<at>Fritz Fallback</at>" not in page
    await mention(http, bot, connector, "who", who=PAULA)
    await connector.wait_until(lambda c: any("Who is on support" in json.dumps(x) for x in c.cards()), what="who card")
    who = json.dumps(next(x for x in connector.cards() if "Who is on support" in json.dumps(x)), ensure_ascii=False)
    assert "off today: Dora Dev" in who and "A request also pages Lars Lead" in who


# --- 4. people who left keep no lead powers -----------------------------------------------------------------

async def test_a_lead_who_left_has_no_lead_powers(http, desk, storage, connector):
    await change_member(storage, LARS, active=False)
    for text in ("rotation here", "alerts here", "requests off", "sync roster"):
        before = len(connector.sent)
        await mention(http, desk, connector, text, who=LARS)
        await connector.wait_for(before + 1)
        assert "Only a lead" in connector.sent[before].body["text"], text
    await post(http, desk, activities.personal("member Nico", connector.url, aad=LARS, name="Lars Lead"))
    await connector.wait_until(lambda c: "Only a lead can change members." in c.texts()[-1], what="member refused")
    opened = await open_request(http, desk, connector, "export broken")
    body = await click(http, desk, connector, opened, "request.claim", LARS)
    assert "Only the current support pair" in body["value"]


# --- 5. swaps from stored offers ------------------------------------------------------------------------------

async def test_a_forged_swap_card_changes_nothing(http, desk, storage, connector):
    start = storage.policy.at(storage.clock(), storage.settings.tz).start.isoformat()
    forged = {"start": start, "giver": DORA, "giver_name": "Dora Dev", "taker": NICO, "day": ""}
    action = activities.card_action("swap.accept", forged, connector.url, aad=NICO, name="Nico New", personal_chat=True)
    _, body = await post(http, desk, action)
    assert "out of date" in body["value"]
    made_up = activities.card_action("swap.accept", {"swap": "0" * 32}, connector.url, aad=NICO, name="Nico New",
                                     personal_chat=True)
    _, body = await post(http, desk, made_up)
    assert "can't find that swap" in body["value"]
    week = (await storage.weeks.get(storage.policy.at(storage.clock(), storage.settings.tz).start)).value
    assert week.pair == (DORA, PAULA)


async def test_a_day_swap_is_accepted_once_by_the_taker_and_keeps_the_fallback_days(http, desk, storage, connector):
    await change_week(storage, lambda w: replace(w, fallback_days=frozenset({0, 4})))
    await post(http, desk, activities.personal("swap day today with Fritz", connector.url, aad=DORA, name="Dora Dev"))
    await connector.wait_until(lambda c: any(s.body.get("attachments") for s in c.sent if s.conversation_id == f"a:1to1-{FRITZ}"),
                               what="the swap card")
    sent = next(s for s in connector.sent if s.conversation_id == f"a:1to1-{FRITZ}" and s.body.get("attachments"))
    card = sent.body["attachments"][0]["content"]
    data = find_action(card, "swap.accept")["data"]
    assert set(data) == {"verb", "swap", "rev"}  # the card carries the offer's id, nothing to trust
    accept = lambda who: activities.card_action("swap.accept", data, connector.url, reply_to=sent.new_id,  # noqa: E731
                                                aad=who, name=NAMES[who], conversation_id=f"a:1to1-{FRITZ}")
    _, wrong = await post(http, desk, accept(PAULA))
    assert "for someone else" in wrong["value"]
    results = await asyncio.gather(post(http, desk, accept(FRITZ)), post(http, desk, accept(FRITZ)))
    texts = [json.dumps(body) for _, body in results]
    assert sum("accepted, the rotation is updated" in t for t in texts) >= 1
    week = (await storage.weeks.get(storage.policy.at(storage.clock(), storage.settings.tz).start)).value
    today = storage.clock().astimezone(storage.settings.tz).date()
    assert [(c.day, c.person, c.replaces) for c in week.covers] == [(today, FRITZ, DORA)]
    assert week.fallback == FRITZ and week.fallback_days == frozenset({0, 4})
    _, again = await post(http, desk, accept(FRITZ))
    assert "already accepted" in again["value"]
    opened = await open_request(http, desk, connector)
    (page,) = acks(connector, opened.thread)
    assert "<at>Fritz Fallback</at>" in page and "<at>Dora Dev</at>" not in page


# --- 6. the pick is for people on the roster -------------------------------------------------------------------

async def test_pick_is_refused_to_people_not_on_the_roster_and_works_in_a_group_chat(http, desk, connector):
    refused = activities.group_chat("pick", connector.url, aad=OLGA, name="Olga Ops")
    await post(http, desk, refused)
    await connector.wait_for(1)
    assert "Only people on the team's roster can start the pick." in connector.texts()[-1]
    assert connector.cards() == []
    await post(http, desk, activities.group_chat("pick", connector.url, aad=NICO, name="Nico New"))
    await connector.wait_until(lambda c: c.cards(), what="the pick card")
    assert "Support pair for the next iteration" in json.dumps(connector.cards()[0])


# --- 9. claimers keep their rights; requests here / off ---------------------------------------------------------

async def test_a_claimer_keeps_rights_on_the_claimed_request_after_the_team_changes(http, desk, storage, connector):
    opened = await open_request(http, desk, connector)
    await click(http, desk, connector, opened, "request.claim", DORA)
    other = await open_request(http, desk, connector, "second problem: invoices missing")
    await change_week(storage, lambda w: replace(w, pair=(FRITZ, PAULA), fallback=None, fallback_days=frozenset()))
    body = await click(http, desk, connector, opened, "request.triage", DORA, outcome="question",
                       question_answer="Restart the export job")
    assert "Outcome" in json.dumps(body["value"]) and "Quick question" in json.dumps(body["value"])
    refused = await click(http, desk, connector, other, "request.claim", DORA)
    assert "Only the current support pair" in refused["value"]


async def test_requests_off_and_here_switch_a_channel(http, desk, connector):
    other = "19:other0channel0id@thread.tacv2"
    await mention(http, desk, connector, "requests off", who=LARS, channel=other)
    await connector.wait_for(1)
    assert "not support requests any more" in connector.texts()[-1]
    before = len(connector.sent)
    await mention(http, desk, connector, "the export is broken", who=OLGA, channel=other)
    await connector.wait_for(before + 1)
    assert "didn't get that" in connector.sent[before].body["text"]
    await mention(http, desk, connector, "requests here", who=LARS, channel=other)
    await connector.wait_until(lambda c: "From now on an @mention" in c.texts()[-1], what="switched on")
    before = len(connector.sent)
    await mention(http, desk, connector, "the export is broken", who=OLGA, channel=other)
    await connector.wait_for(before + 1)
    assert connector.sent[before].body["text"].startswith("Thanks <at>Olga Ops</at>")
    # With one channel switched on, the others (here #backend) no longer take requests.
    before = len(connector.sent)
    await mention(http, desk, connector, "the export is broken", who=OLGA)
    await connector.wait_for(before + 1)
    assert "didn't get that" in connector.sent[before].body["text"]
