"""The weekly pick card and the rotation commands, end to end through /api/messages."""

from __future__ import annotations

import json

from tests.e2e.conftest import DORA, FRITZ, LARS, NICO, OLGA, PAULA, post
from tests.e2e.test_requests import NAMES
from tests.support.cards import find_action
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards

NAMES = {**NAMES, NICO: "Nico New"}


async def say(http, bot, connector, text, who=DORA, channel=False):
    before = len(connector.sent)
    if channel:
        activity = activities.channel_mention(text, connector.url, aad=who, name=NAMES[who])
    else:
        activity = activities.personal(text, connector.url, aad=who, name=NAMES[who])
    status, _ = await post(http, bot, activity)
    assert status == 201
    await connector.wait_for(before + 1, timeout=10)
    return activity, connector.sent[before:]


async def pick_card(http, bot, connector):
    activity, _ = await say(http, bot, connector, "pick", who=LARS, channel=True)
    await connector.wait_until(lambda c: any(s.body.get("attachments") for s in c.sent), what="the pick card")
    sent = next(s for s in connector.sent if s.body.get("attachments"))
    return activity, sent


async def click(http, bot, connector, card, card_id, verb, who, conversation, **inputs):
    data = dict(find_action(card, verb)["data"], **inputs)
    activity = activities.card_action(verb, data, connector.url, reply_to=card_id, aad=who, name=NAMES[who],
                                      conversation_id=conversation)
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


async def test_pick_card_flow_from_suggestion_to_confirmation(http, desk, connector):
    activity, sent = await pick_card(http, desk, connector)
    card = sent.body["attachments"][0]["content"]
    assert_valid_cards(card)
    text = json.dumps(card, ensure_ascii=False)
    assert "Support pair for the next iteration" in text and "Day by day" in text
    conversation = activity["conversation"]["id"]

    refused = await click(http, desk, connector, card, sent.new_id, "plan.confirm", NICO, conversation)
    assert "Only the current support pair or a lead" in refused["value"]
    outsider = await click(http, desk, connector, card, sent.new_id, "plan.another", OLGA, conversation)
    assert "Only people on the roster" in outsider["value"]

    other = await click(http, desk, connector, card, sent.new_id, "plan.another", NICO, conversation)
    assert other["type"] == "application/vnd.microsoft.card.adaptive"
    assert json.dumps(other["value"]) != json.dumps(card)
    card = other["value"]

    invalid = await click(http, desk, connector, card, sent.new_id, "plan.edit", NICO, conversation,
                          plan_first=PAULA, plan_second=NICO, plan_fallback="", plan_observer="")
    assert "Not saved" in invalid["value"] and "production access" in invalid["value"]

    edited = await click(http, desk, connector, card, sent.new_id, "plan.edit", NICO, conversation,
                         plan_first=FRITZ, plan_second=PAULA, plan_fallback="", plan_observer="")
    card = edited["value"]
    assert "Fritz Fallback and Paula Pair" in json.dumps(card, ensure_ascii=False)

    confirmed = await click(http, desk, connector, card, sent.new_id, "plan.confirm", DORA, conversation)
    assert "Confirmed by Dora Dev" in json.dumps(confirmed["value"])
    assert_valid_cards(confirmed["value"])
    await connector.wait_until(lambda c: any("Confirmed: " in t for t in c.texts()), what="the confirmation post")

    _, replies = await say(http, desk, connector, "who", who=PAULA)
    await connector.wait_until(lambda c: len(c.cards()) >= 2, what="the who card")
    who_card = json.dumps(connector.cards()[-1], ensure_ascii=False)
    assert "Fritz Fallback (production access) and Paula Pair (no production access)" in who_card

    _, _ = await say(http, desk, connector, "history", who=PAULA)
    assert "confirmed Fritz Fallback and Paula Pair" in connector.texts()[-1]
    assert "proposed Fritz Fallback and Paula Pair" in connector.texts()[-1]


async def test_away_absences_me_and_roster(http, desk, connector):
    await say(http, desk, connector, "away 2099-12-24 2099-12-26", who=NICO)
    assert "Noted: you're away Thu 24 Dec – Sat 26 Dec 2099" in connector.texts()[-1]
    await say(http, desk, connector, "away 1.1.2020", who=NICO)
    assert "in the past" in connector.texts()[-1]
    await say(http, desk, connector, "away someday", who=NICO)
    assert "don't understand 'someday'" in connector.texts()[-1]
    await say(http, desk, connector, "me", who=NICO)
    me_text = connector.texts()[-1]
    assert ": observer" in me_text and "Observer week:** done" in me_text and "Thu 24 Dec – Sat 26 Dec 2099" in me_text
    await say(http, desk, connector, "roster", who=NICO)
    assert "Dora Dev 🔑" in connector.texts()[-1] and "Lars Lead 🔑 (lead)" in connector.texts()[-1]
    await say(http, desk, connector, "away", who=OLGA)
    assert "When are you away?" in connector.texts()[-1]


async def test_an_absence_that_breaks_the_confirmed_team_warns_them(http, desk, connector):
    await say(http, desk, connector, "rotation here", who=LARS, channel=True)
    assert "Monday pick and the Wednesday handover are posted here" in connector.texts()[-1]
    await say(http, desk, connector, "away today", who=DORA)
    await connector.wait_until(lambda c: any("This breaks the confirmed team" in t for t in c.texts("a:1personal0chat0id")),
                               what="Dora told her absence breaks the team")
    await connector.wait_until(lambda c: any("breaks the team" in t for t in c.texts()), what="the team warning")
    warning = next(t for t in connector.texts() if "breaks the team" in t)
    assert "<at>Lars Lead</at>" in warning and "Suggested fallback" in warning


async def test_only_leads_choose_the_rotation_channel(http, desk, connector):
    await say(http, desk, connector, "rotation here", who=DORA, channel=True)
    assert "Only a lead" in connector.texts()[-1]


async def test_swap_an_iteration_is_checked_and_applied_on_accept(http, desk, connector):
    await say(http, desk, connector, "swap today with Fritz", who=DORA)
    assert "I asked Fritz Fallback to take over your place in" in connector.texts()[-1]
    await connector.wait_until(lambda c: any(x["members"][0]["id"] == FRITZ for x in c.created), what="the 1:1 to Fritz")
    request = next(s for s in connector.sent if s.conversation_id == f"a:1to1-{FRITZ}" and s.body.get("attachments"))
    card = request.body["attachments"][0]["content"]
    assert_valid_cards(card)
    wrong = await click(http, desk, connector, card, request.new_id, "swap.accept", PAULA, f"a:1to1-{FRITZ}")
    assert "for someone else" in wrong["value"]
    accepted = await click(http, desk, connector, card, request.new_id, "swap.accept", FRITZ, f"a:1to1-{FRITZ}")
    assert "accepted, the rotation is updated" in json.dumps(accepted["value"])
    await connector.wait_until(lambda c: any("Fritz Fallback accepted" in t for t in c.texts()), what="Dora told")
    await say(http, desk, connector, "who", who=PAULA)
    await connector.wait_until(lambda c: "Fritz Fallback (production access) and Paula Pair" in json.dumps(c.cards()[-1], ensure_ascii=False),
                               what="the swapped team")


async def test_a_swap_that_breaks_the_rules_changes_nothing(http, desk, connector):
    await say(http, desk, connector, "swap today with Nico", who=DORA)
    await connector.wait_until(lambda c: any(x["members"][0]["id"] == NICO for x in c.created), what="the 1:1 to Nico")
    request = next(s for s in connector.sent if s.conversation_id == f"a:1to1-{NICO}" and s.body.get("attachments"))
    card = request.body["attachments"][0]["content"]
    refused = await click(http, desk, connector, card, request.new_id, "swap.accept", NICO, f"a:1to1-{NICO}")
    assert "would break the rotation, so nothing changed" in refused["value"] and "observer" in refused["value"]
    await connector.wait_until(lambda c: any("would break the rotation" in t for t in c.texts()), what="Dora told why")


async def test_leads_edit_members_by_card(http, desk, connector):
    await say(http, desk, connector, "member Nico", who=DORA)
    assert "Only a lead" in connector.texts()[-1]
    await say(http, desk, connector, "member Nico", who=LARS)
    sent = next(s for s in reversed(connector.sent) if s.body.get("attachments"))
    card = sent.body["attachments"][0]["content"]
    assert_valid_cards(card)
    saved = await click(http, desk, connector, card, sent.new_id, "member.edit", LARS, "a:1personal0chat0id",
                        member_production="true", member_days="0,1,2", member_role="member")
    text = json.dumps(saved["value"])
    assert "Saved by Lars Lead" in text and '"Production access", "value": "yes"' in text and "Mon, Tue, Wed" in text
    await say(http, desk, connector, "history", who=LARS)
    assert "set Nico New: production access yes, working days mon, tue, wed, role member" in connector.texts()[-1]
