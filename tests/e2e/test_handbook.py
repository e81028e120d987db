"""The handbook on the triage card end to end: suggestions, Send this answer, recurring requests, Ask the team, Add to handbook."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from tests.e2e.conftest import DORA, LARS, OLGA, PAULA, post
from tests.e2e.test_requests import card_in, click, open_request, texts_in, triage
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import actions_in, find_action
from tests.support.processes import ROOT

HANDBOOK = ROOT / "tests" / "data" / "handbook.md"


async def _services(storage_env):
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    return services


@pytest.fixture
def helpdesk(start_bot, rotation, handbook, desk_env):
    """The bot with the e2e rotation, the handbook and fast escalation."""
    return start_bot(**desk_env)


async def _entry(storage_env, entry_id: str):
    services = await _services(storage_env)
    try:
        stored = await services.handbook.get(entry_id)
    finally:
        await services.store.close()
    return stored


def _suggested(card: dict) -> list[str]:
    """The entry ids behind the card's Send this answer buttons, in order."""
    return [a["data"]["entry"] for a in actions_in(card) if a.get("verb") == "request.send_answer"]


async def test_matching_entry_is_suggested_and_sent_in_one_click(http, helpdesk, connector, storage_env):
    opened = await open_request(http, helpdesk, connector, "Hi team, die Lieferadrese von Auftrag #A-123456 muss geändert werden, Fahrer ist schon unterwegs")
    card, _ = card_in(connector, opened.thread)
    assert_valid_cards(card)
    suggested = _suggested(card)
    assert 1 <= len(suggested) <= 3
    entry = await _entry(storage_env, suggested[0])
    assert "adress" in entry.title.lower() or "address" in entry.title.lower()
    assert "From the handbook" in json.dumps(card, ensure_ascii=False)

    await click(http, helpdesk, connector, opened, "request.send_answer", DORA, entry=entry.id)
    await connector.wait_until(lambda c: any(entry.solution[:40] in t for t in texts_in(c, opened.thread)), what="the answer")
    answer = next(t for t in texts_in(connector, opened.thread) if entry.solution[:40] in t)
    assert answer.startswith("<at>Olga Ops</at>") and entry.title in answer
    card, _ = card_in(connector, opened.thread)
    shown = json.dumps(card, ensure_ascii=False)
    assert "Outcome: **Documented** by Dora Dev" in shown and f"Answered from the handbook: “{entry.title}”" in shown
    assert _suggested(card) == []  # answered: no more buttons
    assert (await _entry(storage_env, entry.id)).uses == 1

    # A double click on the old card changes nothing and is not counted twice.
    body = await click_old(http, helpdesk, connector, opened, "request.send_answer", entry=suggested[0])
    assert "Outcome: **Documented** by Dora Dev" in json.dumps(body["value"], ensure_ascii=False)  # the current card
    await asyncio.sleep(0.5)
    assert (await _entry(storage_env, entry.id)).uses == 1
    assert sum(entry.solution[:40] in t for t in texts_in(connector, opened.thread)) == 1


async def click_old(http, bot, connector, opened, verb: str, **data):
    """Paula clicks a button of the first card the thread got, however the card looks now."""
    data = {"request": opened.activity["id"], "rev": 0, **data}
    activity = activities.card_action(verb, data, connector.url, reply_to=opened.card_id, aad=PAULA,
                                      name="Paula Pair", conversation_id=opened.thread)
    status, body = await post(http, bot, activity)
    assert status == 200
    return body


async def test_outsiders_cannot_send_answers(http, helpdesk, connector, storage_env):
    opened = await open_request(http, helpdesk, connector, "Courier app login fails for driver Max, Anmeldung geht nicht")
    card, _ = card_in(connector, opened.thread)
    (first, *_) = _suggested(card)
    body = await click(http, helpdesk, connector, opened, "request.send_answer", OLGA, entry=first)
    assert "Only the current support pair" in json.dumps(body)
    await asyncio.sleep(0.3)
    assert (await _entry(storage_env, first)).uses == 0


async def test_unknown_problem_gets_no_suggestions(http, helpdesk, connector):
    opened = await open_request(http, helpdesk, connector, "Can someone order pizza for the hub party on Friday?")
    card, _ = card_in(connector, opened.thread)
    assert _suggested(card) == []
    assert "From the handbook" not in json.dumps(card)


async def _seed_earlier(storage_env, texts: list[str], days_ago: list[int]) -> None:
    from bot.domain.requests import Person, SupportRequest
    from bot.web.references import address as teams_address

    services = await _services(storage_env)
    now = services.clock()
    try:
        for i, (text, days) in enumerate(zip(texts, days_ago)):
            at = now - timedelta(days=days)
            await services.requests.add(SupportRequest(
                id=f"earlier-{i}", address=teams_address("https://x/", f"19:abc;messageid=earlier-{i}"),
                requester=Person(OLGA, "Olga Ops"), text=text, received_at=at, target_at=at + timedelta(minutes=5), in_hours=True))
    finally:
        await services.store.close()


RECURRING = "Der Hallenplan für Standort Leipzig lädt nicht im Dashboard"


async def test_recurring_request_is_flagged_and_added_to_the_handbook(http, helpdesk, connector, storage_env):
    await _seed_earlier(storage_env, [
        "Hallenplan Leipzig lädt nicht im Dashboard",
        "Im Dashboard fehlt schon wieder der Hallenplan von Leipzig",
        "Dashboard zeigt den Hallenplan Leipzig nicht an",  # too old: 40 days
    ], [12, 3, 40])
    opened = await open_request(http, helpdesk, connector, RECURRING)
    card, _ = card_in(connector, opened.thread)
    assert_valid_cards(card)
    shown = json.dumps(card, ensure_ascii=False)
    assert _suggested(card) == []
    assert "This came up 3 times since" in shown
    form = find_action(card, "handbook.add")
    assert form["data"]["request"] == opened.activity["id"]

    await click(http, helpdesk, connector, opened, "handbook.add", PAULA, hb_title="Hall plan does not load in the dashboard",
                hb_keywords="Hallenplan, Dashboard, hall plan", hb_solution="Clear the hall plan cache in the admin panel.",
                hb_links="https://wiki.liefery.example/dashboard/hall-plan")
    await connector.wait_until(lambda c: any("added “Hall plan does not load in the dashboard” to the handbook" in t for t in texts_in(c, opened.thread)),
                               what="the handbook note")
    entry = await _entry(storage_env, "hall-plan-does-not-load-in-the-dashboard")
    assert entry.added_by == "Paula Pair" and entry.keywords == ("Hallenplan", "Dashboard", "hall plan")
    card, _ = card_in(connector, opened.thread)
    assert "In the handbook as “Hall plan does not load in the dashboard”" in json.dumps(card, ensure_ascii=False)

    # The next request like it (once this one is answered: while it is open, it would join it as an incident)
    # gets the new entry suggested.
    await triage(http, helpdesk, connector, opened, PAULA, "question", question_answer="Clear the hall plan cache.")
    again = await open_request(http, helpdesk, connector, "Hallenplan im Dashboard lädt nicht (Leipzig)!!")
    card, _ = card_in(connector, again.thread)
    assert _suggested(card)[:1] == ["hall-plan-does-not-load-in-the-dashboard"]


async def test_ask_the_team_mentions_the_leads_and_stops_no_clock(http, helpdesk, connector):
    opened = await open_request(http, helpdesk, connector, "Seltsamer Fehler 0xDEAD im Scanner der Halle 3, keiner weiß was")
    await click(http, helpdesk, connector, opened, "request.ask_team", DORA)
    await connector.wait_until(lambda c: any("is asking for help" in t for t in texts_in(c, opened.thread)), what="the ask")
    ask = next(s for s in connector.sent if s.conversation_id == opened.thread and "is asking for help" in (s.body.get("text") or ""))
    assert "<at>Lars Lead</at>" in ask.body["text"] and "Seltsamer Fehler 0xDEAD" in ask.body["text"]
    assert ask.body["entities"][0]["mentioned"]["id"] == LARS
    # The clock still runs: the 2-second target escalates to the pair.
    await connector.wait_until(lambda c: any("no response yet" in t for t in texts_in(c, opened.thread)), what="the escalation")
    body = await click_old(http, helpdesk, connector, opened, "request.ask_team")
    assert "Dora Dev asked the team at" in json.dumps(body["value"], ensure_ascii=False)  # the card as it is
    await asyncio.sleep(0.3)
    assert sum("is asking for help" in t for t in texts_in(connector, opened.thread)) == 1


async def answer_and_open_form(http, bot, connector, opened, answer: str) -> dict:
    """Dora answers the request as a quick question; the resolved card's Add to handbook form (checked by the parser)."""
    await click(http, bot, connector, opened, "request.triage", DORA, outcome="question", question_answer=answer)
    await connector.wait_until(lambda c: "Quick question" in json.dumps(card_in(c, opened.thread)[0]), what="the triaged card")
    card, _ = card_in(connector, opened.thread)
    assert_valid_cards(card)
    return next(a for a in card.get("actions", []) if a.get("title") == "📘 Add to handbook")


async def test_resolved_request_offers_a_prefilled_handbook_form(http, helpdesk, connector, storage_env):
    opened = await open_request(http, helpdesk, connector, "Wie kann ich die Paketgröße XXL für Kunde Müller freischalten?")
    form = await answer_and_open_form(http, helpdesk, connector, opened, "Im Admin-Panel unter Kunden → Tarife die Größe XXL anhaken.")
    values = {i["id"]: i.get("value", "") for i in form["card"]["body"]}
    assert values["hb_solution"] == "Im Admin-Panel unter Kunden → Tarife die Größe XXL anhaken."
    assert values["hb_title"].startswith("Wie kann ich die Paketgröße XXL")
    body = await click(http, helpdesk, connector, opened, "handbook.add", OLGA, hb_title="x", hb_solution="y")
    assert "Only people on the team's roster" in json.dumps(body)
    body = await click(http, helpdesk, connector, opened, "handbook.add", DORA, hb_title="XXL freischalten", hb_solution="")
    assert "A solution is needed" in json.dumps(body)
    await click(http, helpdesk, connector, opened, "handbook.add", DORA, hb_title="XXL freischalten", hb_solution=values["hb_solution"])
    entry = await _entry(storage_env, "xxl-freischalten")
    assert entry.solution == values["hb_solution"]


async def test_the_handbook_can_be_searched_in_personal_chat(http, helpdesk, connector):
    await post(http, helpdesk, activities.personal("handbook Lieferadresse ändern", connector.url, aad=DORA))
    (sent,) = await connector.wait_for(1)
    assert sent.body["text"].startswith("**Change the delivery address after dispatch** (used 0×)")
    await post(http, helpdesk, activities.personal("handbook Pizza für die Party", connector.url, aad=DORA))
    await connector.wait_for(2)
    assert "Nothing in the handbook matches “Pizza für die Party”" in connector.sent[-1].body["text"]
    await post(http, helpdesk, activities.personal("handbook", connector.url, aad=DORA))
    await connector.wait_for(3)
    assert connector.sent[-1].body["text"].startswith("The handbook has 22 entries. Most used:")


async def test_a_missed_entry_learns_the_requests_keywords(http, helpdesk, connector, storage_env):
    opened = await open_request(http, helpdesk, connector, "Aufkleber kommen leer aus dem Zebra Drucker")
    card, _ = card_in(connector, opened.thread)
    assert _suggested(card) == []  # the words differ from the entry's
    form = await answer_and_open_form(http, helpdesk, connector, opened, "Das ist das Etiketten-Problem: Druckdienst neu starten.")
    existing = next(i for i in form["card"]["body"] if i["id"] == "hb_existing")
    assert existing["style"] == "filtered" and {"title": "Label printing fails", "value": "label-printing-fails"} in existing["choices"]
    before = (await _entry(storage_env, "label-printing-fails")).keywords

    body = await click(http, helpdesk, connector, opened, "handbook.add", DORA, hb_existing="label-printing-fails", hb_keywords=" , ")
    assert "Keep a keyword or two" in json.dumps(body)
    await click(http, helpdesk, connector, opened, "handbook.add", DORA, hb_existing="label-printing-fails",
                hb_keywords="Aufkleber, Zebra Drucker, leer, drucker")
    await connector.wait_until(lambda c: any("linked this request to the handbook entry “Label printing fails”" in t
                                             for t in texts_in(c, opened.thread)), what="the link note")
    entry = await _entry(storage_env, "label-printing-fails")
    assert entry.keywords == before + ("Aufkleber", "Zebra Drucker", "leer")  # "drucker" was there as "Drucker"
    card, _ = card_in(connector, opened.thread)
    assert "Linked to the handbook entry “Label printing fails” by Dora Dev" in json.dumps(card, ensure_ascii=False)

    again = await open_request(http, helpdesk, connector, "Schon wieder leere Aufkleber am Zebra-Drucker in Halle 2")
    card, _ = card_in(connector, again.thread)
    assert _suggested(card)[:1] == ["label-printing-fails"]
