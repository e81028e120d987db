"""Incidents end to end: near duplicates in one channel grouped under the first request, no second page, the root
card listing them, one click to answer them all, "not the same problem", "same problem as", and stats."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.conftest import DORA, OLGA, PAULA, post
from tests.e2e.test_requests import NAMES, Opened, all_actions, card_in, open_request, texts_in, triage
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import find_action

OTTO = "6a1f2e8c-0000-4000-8000-00000000a002"  # a second operations colleague
NAMES = {**NAMES, OTTO: "Otto Ops"}
SMS = "Tracking-SMS an Empfänger werden nicht verschickt"
SMS_AGAIN = "recipients get no tracking sms since 16:30"  # the same problem, in English
LABELS = "Etikettendruck im Hub Leipzig funktioniert nicht, Drucker bekommt nichts"
LABELS_MAYBE = "Hub Leipzig: Etiketten werden nicht gedruckt"  # alike, but not certain enough to group alone


async def new_request(http, bot, connector, text: str, who: str = OTTO, channel: str | None = None) -> dict:
    """Post a request as a new thread and wait for its acknowledgement; the activity."""
    activity = activities.channel_mention(text, connector.url, aad=who, name=NAMES[who], channel=channel)
    assert (await post(http, bot, activity))[0] == 201
    thread = activity["conversation"]["id"]
    await connector.wait_until(lambda c: any(t.startswith("Thanks <at>") for t in texts_in(c, thread)), what="the ack")
    return activity


def in_thread(connector, thread: str) -> list:
    return [s for s in connector.sent if s.conversation_id == thread and s.method == "POST"]


def chats_with(connector) -> set[str]:
    return {s.conversation_id for s in connector.sent if s.conversation_id.startswith("a:1to1-")}


async def click_on(http, bot, connector, thread: str, verb: str, who: str, title: str | None = None, **inputs):
    """Click a button (by verb, or by title when several share it) on the latest card in the thread."""
    card, card_id = card_in(connector, thread)
    actions = [a for a in all_actions(card) if (a.get("verb") == verb) and (title is None or a.get("title") == title)]
    assert actions, (verb, title, json.dumps(card)[:2000])
    return await click_with(http, bot, connector, thread, verb, {**actions[0]["data"], **inputs}, who)


async def click_with(http, bot, connector, thread: str, verb: str, data: dict, who: str):
    """Click with the given card data (a stale card's, say) on the thread's card; the invoke answer."""
    _, card_id = card_in(connector, thread)
    activity = activities.card_action(verb, data, connector.url, reply_to=card_id, aad=who, name=NAMES[who],
                                      conversation_id=thread)
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


async def test_a_near_duplicate_is_grouped_acknowledged_with_a_link_and_pages_nobody(http, desk, connector):
    first = await open_request(http, desk, connector, SMS)
    await connector.wait_until(lambda c: len(chats_with(c)) >= 2, what="the pair's 1:1s")
    await asyncio.sleep(0.5)
    chats_before = len([s for s in connector.sent if s.conversation_id.startswith("a:1to1-")])
    second = await new_request(http, desk, connector, SMS_AGAIN)
    thread = second["conversation"]["id"]
    (ack,) = [s.body["text"] for s in in_thread(connector, thread)]
    assert "same problem as [Olga Ops's request from" in ack and first.activity["id"] in ack
    assert "I've added yours to it" in ack and "<at>Dora Dev</at>" not in ack
    # The root card lists it, with a link and a count, and a way out.
    await connector.wait_until(lambda c: "1 more request about this" in json.dumps(card_in(c, first.thread)[0]),
                               what="the root card listing the grouped request")
    card, _ = card_in(connector, first.thread)
    assert "Otto Ops" in json.dumps(card) and thread.split("messageid=")[1] in json.dumps(card)
    assert find_action(card, "incident.split")["title"] == "Not the same problem"
    assert_valid_cards(card)
    await asyncio.sleep(1.0)
    # Exactly one channel message for the grouped request: no page, no card, and no new 1:1s.
    assert len(in_thread(connector, thread)) == 1
    assert len([s for s in connector.sent if s.conversation_id.startswith("a:1to1-")]) == chats_before


async def test_an_unrelated_request_and_the_same_text_in_another_channel_stay_requests_of_their_own(http, desk, connector):
    await open_request(http, desk, connector, SMS)
    other = await new_request(http, desk, connector, "Kann mir jemand Zugriff auf Metabase geben?")
    elsewhere = await new_request(http, desk, connector, SMS_AGAIN, channel="19:other-channel@thread.tacv2")
    for activity in (other, elsewhere):
        thread = activity["conversation"]["id"]
        await connector.wait_until(lambda c: any(s.body.get("attachments") for s in in_thread(c, thread)),
                                   what="a card of its own")
        (ack, *_) = texts_in(connector, thread)
        assert "I've paged support: <at>Dora Dev</at>" in ack and "same problem" not in ack


async def test_a_shared_error_class_groups_even_without_shared_words(http, desk, connector):
    first = await open_request(http, desk, connector, "Beim Öffnen der Sendung kommt NoMethodError")
    second = await new_request(http, desk, connector, "error page with NoMethodError when opening shipment A-448120")
    assert "same problem as" in texts_in(connector, second["conversation"]["id"])[0]
    assert first.activity["id"] in texts_in(connector, second["conversation"]["id"])[0]


async def test_the_grouped_ack_says_who_is_on_it_and_since_when(http, desk, connector):
    first = await open_request(http, desk, connector, SMS)
    await click_on(http, desk, connector, first.thread, "request.claim", DORA)
    second = await new_request(http, desk, connector, SMS_AGAIN)
    (ack,) = texts_in(connector, second["conversation"]["id"])
    assert "Dora Dev is on it since" in ack


async def test_one_click_sends_the_outcome_to_every_grouped_requester_in_their_thread(http, desk, connector):
    first = await open_request(http, desk, connector, SMS)
    second = await new_request(http, desk, connector, SMS_AGAIN)
    third = await new_request(http, desk, connector, "Keine Tracking-SMS an die Empfänger, Kunden rufen an", who=PAULA)
    await connector.wait_until(lambda c: "2 more requests about this" in json.dumps(card_in(c, first.thread)[0]),
                               what="both grouped")
    await triage(http, desk, connector, first, DORA, "question",
                 question_answer="The SMS provider had an outage; messages are being resent now.")
    card, _ = card_in(connector, first.thread)
    button = find_action(card, "incident.send_all")
    assert button["title"] == "📣 Send this outcome to the 2 others"
    stale = dict(button["data"])
    # Someone outside support may not send it.
    refused = await click_on(http, desk, connector, first.thread, "incident.send_all", OLGA)
    assert refused["type"] == "application/vnd.microsoft.activity.message"
    await asyncio.sleep(0.5)
    for activity in (second, third):
        assert not any("same problem as" in t and "outage" in t for t in texts_in(connector, activity["conversation"]["id"]))
    body = await click_on(http, desk, connector, first.thread, "incident.send_all", PAULA)
    assert "Send this outcome" not in json.dumps(body["value"])
    for activity, who in ((second, "Otto Ops"), (third, "Paula Pair")):
        thread = activity["conversation"]["id"]
        await connector.wait_until(lambda c: any("outage" in t for t in texts_in(c, thread)), what="the shared answer")
        answer = next(t for t in texts_in(connector, thread) if "outage" in t)
        assert answer.startswith(f"<at>{who}</at>") and "from Dora Dev" in answer
    # A second click (a stale card, or a colleague at the same time) sends nothing twice.
    before = len(connector.sent)
    again = await click_with(http, desk, connector, first.thread, "incident.send_all", stale, PAULA)
    assert "Send this outcome" not in json.dumps(again["value"])  # the fresh card: everyone has it
    await asyncio.sleep(1.0)
    assert sum("outage" in (s.body.get("text") or "") for s in connector.sent[before:]) == 0


async def test_not_the_same_problem_splits_it_out_and_pages_it_as_a_request(http, desk, connector):
    first = await open_request(http, desk, connector, SMS)
    second = await new_request(http, desk, connector, SMS_AGAIN)
    thread = second["conversation"]["id"]
    await connector.wait_until(lambda c: "incident.split" in json.dumps(card_in(c, first.thread)[0]), what="split button")
    stale = dict(find_action(card_in(connector, first.thread)[0], "incident.split")["data"])
    refused = await click_on(http, desk, connector, first.thread, "incident.split", OTTO)
    assert refused["type"] == "application/vnd.microsoft.activity.message"
    body = await click_on(http, desk, connector, first.thread, "incident.split", DORA)
    assert "Otto Ops" not in json.dumps(body["value"])
    await connector.wait_until(lambda c: any(s.body.get("attachments") for s in in_thread(c, thread)), what="its own card")
    page = next(t for t in texts_in(connector, thread) if "not the same problem" in t)
    assert page.startswith("Dora Dev says this is not the same problem") and "<at>Dora Dev</at>" in page
    # A second click on the stale root card changes nothing and pages nobody again.
    await asyncio.sleep(0.3)
    before = len(connector.sent)
    fresh = await click_with(http, desk, connector, first.thread, "incident.split", stale, PAULA)
    assert "incident.split" not in json.dumps(fresh["value"])  # the fresh card: nothing grouped any more
    await asyncio.sleep(0.8)
    assert not any("not the same problem" in (s.body.get("text") or "") for s in connector.sent[before:])


async def test_support_can_group_a_request_the_matcher_was_not_sure_about(http, desk, connector):
    first = await open_request(http, desk, connector, LABELS)
    second_activity = await new_request(http, desk, connector, LABELS_MAYBE)
    thread = second_activity["conversation"]["id"]
    await connector.wait_until(lambda c: any(s.body.get("attachments") for s in in_thread(c, thread)), what="its card")
    card, card_id = card_in(connector, thread)
    assert "Maybe the same problem as" in json.dumps(card, ensure_ascii=False)
    second = Opened(second_activity, thread, card_id)
    body = await click_on(http, desk, connector, second.thread, "incident.same_as", DORA)
    assert "Grouped with" in json.dumps(body["value"])
    await connector.wait_until(lambda c: any("grouped this with" in t for t in texts_in(c, thread)), what="the note")
    await connector.wait_until(lambda c: "1 more request about this" in json.dumps(card_in(c, first.thread)[0]),
                               what="the root card listing it")


async def test_stats_count_incidents_and_grouped_requests_apart(http, desk, connector):
    await open_request(http, desk, connector, SMS)
    await new_request(http, desk, connector, SMS_AGAIN)
    await new_request(http, desk, connector, "Kann mir jemand Zugriff auf Metabase geben?")
    await asyncio.sleep(1.0)
    before = len(connector.sent)
    status, _ = await post(http, desk, activities.personal("stats", connector.url, aad=DORA, name="Dora Dev"))
    assert status == 201
    await connector.wait_for(before + 1, timeout=10)
    card = connector.sent[before].body["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]}
    assert facts["Requests"] == "3"
    assert facts["Incidents"] == "1 (1 request grouped into them)"
