"""The #backend flow end to end: acknowledge, page, triage card, claims, every outcome, the 5-minute watch."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import DORA, FRITZ, LARS, NICO, OLGA, PAULA, post
from tests.support import activities
from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import find_action

NAMES = {DORA: "Dora Dev", PAULA: "Paula Pair", FRITZ: "Fritz Fallback", LARS: "Lars Lead", NICO: "Nico New", OLGA: "Olga Ops"}


@dataclass
class Opened:
    """A request as the tests see it: its thread, and the triage card's message id."""

    activity: dict
    thread: str
    card_id: str


def card_in(connector, thread: str) -> tuple[dict, str]:
    """The latest triage card posted or updated in a thread, and its message id."""
    for sent in reversed(connector.sent):
        attachments = sent.body.get("attachments") or []
        if sent.conversation_id == thread and attachments:
            return attachments[0]["content"], sent.activity_id if sent.method == "PUT" else sent.new_id
    raise AssertionError("no card in the thread")


async def open_request(http, bot, connector, text="The tour export for Hamburg fails with a 500, drivers are waiting") -> Opened:
    activity = activities.channel_mention(text, connector.url, aad=OLGA, name="Olga Ops")
    status, _ = await post(http, bot, activity)
    assert status == 201
    thread = activity["conversation"]["id"]
    await connector.wait_until(lambda c: any(s.conversation_id == thread and s.body.get("attachments") for s in c.sent),
                               what="the triage card")
    _, card_id = card_in(connector, thread)
    return Opened(activity, thread, card_id)


async def click(http, bot, connector, opened: Opened, verb: str, who: str, **inputs):
    card, _ = card_in(connector, opened.thread)
    data = dict(find_action(card, verb)["data"])
    data.update(inputs)
    activity = activities.card_action(verb, data, connector.url, reply_to=opened.card_id, aad=who, name=NAMES[who],
                                      conversation_id=opened.thread)
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


def texts_in(connector, thread: str) -> list[str]:
    return [s.body.get("text") or "" for s in connector.sent if s.conversation_id == thread and s.method == "POST"]


async def test_acknowledges_at_once_pages_the_pair_and_posts_the_card(http, desk, connector):
    activity = activities.channel_mention("The tour export fails with a 500", connector.url, aad=OLGA, name="Olga Ops")
    started = time.perf_counter()
    await post(http, desk, activity)
    (ack,) = await connector.wait_for(1)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    thread = activity["conversation"]["id"]
    assert ack.conversation_id == thread and ack.activity_id == activity["id"]
    assert "Thanks <at>Olga Ops</at>! I've paged support: <at>Dora Dev</at> and <at>Paula Pair</at>. First response target: **" in ack.body["text"]
    assert ack.body["entities"][0]["mentioned"]["id"] == f"29:{OLGA}"
    await connector.wait_until(lambda c: len(c.created) == 2, what="two 1:1 chats")
    page = ack.body["text"]
    assert "<at>Dora Dev</at>" in page and "<at>Paula Pair</at>" in page and "Observing: <at>Nico New</at>" in page
    card, _ = card_in(connector, thread)
    assert "The tour export fails with a 500" in json.dumps(card) and "Olga Ops" in json.dumps(card)
    assert_valid_cards(card)
    assert {c["members"][0]["id"] for c in connector.created} == {DORA, PAULA}
    await connector.wait_until(lambda c: sum(s.conversation_id.startswith("a:1to1-") for s in c.sent) == 2, what="two 1:1s")
    direct = [s.body["text"] for s in connector.sent if s.conversation_id.startswith("a:1to1-")]
    assert len(direct) == 2 and all("Open the thread" in t and "teams.microsoft.com/l/message/" in t for t in direct)
    mentioned = {e["mentioned"]["id"] for e in ack.body["entities"]}
    assert {DORA, PAULA, NICO} <= mentioned
    # Two channel messages before anyone responds: the acknowledgement that pages, and the card.
    await asyncio.sleep(0.5)
    assert [bool(s.body.get("attachments")) for s in connector.sent if s.conversation_id == thread] == [False, True]


async def test_redelivered_message_is_acknowledged_once(http, desk, connector):
    activity = activities.channel_mention("Export broken", connector.url, aad=OLGA)
    await post(http, desk, activity)
    await post(http, desk, activity)
    await connector.wait_until(lambda c: c.cards(), what="the card")
    await asyncio.sleep(0.5)
    assert sum("Thanks" in t for t in connector.texts()) == 1
    assert len(connector.cards()) == 1


async def test_mention_without_text_asks_what_the_problem_is(http, desk, connector):
    await post(http, desk, activities.channel_mention("", connector.url, aad=OLGA, name="Olga Ops"))
    (sent,) = await connector.wait_for(1)
    assert "what's the problem?" in sent.body["text"]
    await asyncio.sleep(0.5)
    assert connector.cards() == []


async def test_long_html_emoji_and_umlauts_are_handled(http, desk, connector):
    text = "Tourexport für Hamburg kaputt 🚚💥 <script>alert(1)</script> " + "Größenwahn " * 800
    opened = await open_request(http, desk, connector, text)
    card, _ = card_in(connector, opened.thread)
    assert_valid_cards(card)
    assert "für Hamburg kaputt 🚚💥 <script>" in json.dumps(card, ensure_ascii=False)


async def test_claim_stops_the_clock_and_updates_the_card_in_place(http, desk, connector):
    opened = await open_request(http, desk, connector)
    body = await click(http, desk, connector, opened, "request.claim", DORA)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Dora Dev is on it" in json.dumps(body["value"])
    assert "First response after" in json.dumps(body["value"])
    updates = [s for s in connector.sent if s.method == "PUT" and s.activity_id == opened.card_id]
    assert updates and "Dora Dev is on it" in json.dumps(updates[-1].body)
    await asyncio.sleep(2.5)  # past the 2 s target: no escalation
    assert not any("⏰" in t for t in texts_in(connector, opened.thread))


async def test_outsiders_get_a_private_refusal_and_the_card_stays(http, desk, connector):
    opened = await open_request(http, desk, connector)
    before = len(connector.sent)
    body = await click(http, desk, connector, opened, "request.claim", OLGA)
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "Only the current support pair, the fallback and the leads" in body["value"]
    await asyncio.sleep(0.3)
    assert not [s for s in connector.sent[before:] if s.method == "PUT"]


async def test_an_outdated_card_gets_the_current_state(http, desk, connector):
    opened = await open_request(http, desk, connector)
    stale, _ = card_in(connector, opened.thread)
    await click(http, desk, connector, opened, "request.claim", DORA)
    question = next(a for a in all_actions(stale) if a.get("verb") == "request.triage" and a["data"]["outcome"] == "question")
    data = dict(question["data"], question_answer="Restart it")
    activity = activities.card_action("request.triage", data, connector.url, reply_to=opened.card_id, aad=PAULA,
                                      name="Paula Pair", conversation_id=opened.thread)
    _, body = await post(http, desk, activity)
    assert "Dora Dev is on it" in json.dumps(body["value"])
    assert "Outcome" not in json.dumps(body["value"])


async def test_twenty_concurrent_claims_leave_one_owner(http, desk, connector):
    opened = await open_request(http, desk, connector)
    card, _ = card_in(connector, opened.thread)
    data = find_action(card, "request.claim")["data"]
    people = [DORA, PAULA, FRITZ, LARS] * 5
    bodies = await asyncio.gather(*[
        post(http, desk, activities.card_action("request.claim", data, connector.url, reply_to=opened.card_id,
                                                aad=who, name=NAMES[who], conversation_id=opened.thread))
        for who in people
    ])
    assert all(status == 200 for status, _ in bodies)
    owners = {next(n for n in NAMES.values() if f"{n} is on it" in json.dumps(b)) for _, b in bodies}
    assert len(owners) == 1
    await asyncio.sleep(0.5)
    assert sum(" is on it." in t for t in texts_in(connector, opened.thread)) == 1


async def test_no_response_escalates_to_the_pair_then_the_leads(http, desk, connector):
    opened = await open_request(http, desk, connector)
    await connector.wait_until(lambda c: any("⏰" in t for t in texts_in(c, opened.thread)), timeout=8, what="escalation 1")
    first = next(t for t in texts_in(connector, opened.thread) if "⏰" in t)
    assert "<at>Dora Dev</at>" in first and "<at>Paula Pair</at>" in first and "<at>Fritz Fallback</at>" in first
    await connector.wait_until(lambda c: any("🚨" in t for t in texts_in(c, opened.thread)), timeout=8, what="escalation 2")
    second = next(t for t in texts_in(connector, opened.thread) if "🚨" in t)
    assert "<at>Lars Lead</at>" in second
    await asyncio.sleep(1)
    assert sum("⏰" in t for t in texts_in(connector, opened.thread)) == 1
    assert sum("🚨" in t for t in texts_in(connector, opened.thread)) == 1


async def test_a_reply_in_the_thread_by_support_stops_the_clock(http, desk, connector):
    opened = await open_request(http, desk, connector)
    reply = activities.personal("Looking at it", connector.url, aad=PAULA, name="Paula Pair")
    reply["conversation"] = dict(opened.activity["conversation"])
    reply["channelData"] = opened.activity["channelData"]
    reply["id"] = "1764427339999"
    assert (await post(http, desk, reply))[0] == 201
    await asyncio.sleep(2.8)
    assert not any("⏰" in t for t in texts_in(connector, opened.thread))
    card, _ = card_in(connector, opened.thread)
    assert "by Paula Pair" in json.dumps(card)


async def test_pending_escalation_survives_a_restart(http, start_bot, rotation, desk_env, connector):
    first = start_bot(**desk_env)
    opened = await open_request(http, first, connector)
    await asyncio.to_thread(first.stop)
    second = start_bot(**desk_env)
    assert second.alive()
    await connector.wait_until(lambda c: any("⏰" in t for t in texts_in(c, opened.thread)), timeout=10, what="escalation after restart")
    await asyncio.sleep(1)
    assert sum("⏰" in t for t in texts_in(connector, opened.thread)) == 1


async def test_two_instances_send_each_escalation_once(http, start_bot, rotation, desk_env, connector):
    one = start_bot(**desk_env)
    start_bot(**desk_env)
    opened = await open_request(http, one, connector)
    await connector.wait_until(lambda c: any("🚨" in t for t in texts_in(c, opened.thread)), timeout=10, what="escalation 2")
    await asyncio.sleep(1.5)
    assert sum("⏰" in t for t in texts_in(connector, opened.thread)) == 1
    assert sum("🚨" in t for t in texts_in(connector, opened.thread)) == 1


async def test_teams_throttling_on_the_acknowledgement_is_retried(http, desk, connector):
    connector.throttle = 2
    opened = await open_request(http, desk, connector)
    assert any("Thanks" in t for t in texts_in(connector, opened.thread))


# ---------------------------------------------------------------------------------------------- outcomes


async def triage(http, bot, connector, opened, who, outcome, **inputs):
    card, _ = card_in(connector, opened.thread)
    action = next(a for a in all_actions(card) if a.get("verb") == "request.triage" and a["data"]["outcome"] == outcome)
    data = dict(action["data"], **inputs)
    activity = activities.card_action("request.triage", data, connector.url, reply_to=opened.card_id, aad=who,
                                      name=NAMES[who], conversation_id=opened.thread)
    status, body = await post(http, bot, activity)
    assert status == 200, body
    return body


def all_actions(card: dict) -> list[dict]:
    """Every action on a card, nested ones included."""
    found, stack = [], [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type", "").startswith("Action."):
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.mark.parametrize(
    "outcome, inputs, expected",
    [
        ("exception", {"exception_cause": "A nil tour in the export job"}, "the cause, from Dora Dev: A nil tour in the export job"),
        ("question", {"question_answer": "Yes, you can re-run it at 17:00."}, "Yes, you can re-run it at 17:00."),
        ("documented", {"docs_choice": "0"}, "[Tour export troubleshooting](https://wiki.liefery.example/backend/tour-export)"),
        ("documented", {"docs_link": "https://wiki.liefery.example/x"}, "(https://wiki.liefery.example/x)"),
        ("not_ours", {"owner_choice": "0"}, "Please ask Data team (#data-requests)."),
        ("not_ours", {"owner_other": "the Finance team"}, "Please ask the Finance team."),
        ("self_service", {}, "Open Reports → Exports and press Export CSV."),
        ("admin_panel", {"admin_choice": "0"}, "[Reassign a tour](https://admin.liefery.example/tours/reassign)"),
    ],
)
async def test_each_answering_outcome_posts_to_the_requester(http, desk, connector, outcome, inputs, expected):
    opened = await open_request(http, desk, connector)
    body = await triage(http, desk, connector, opened, DORA, outcome, **inputs)
    card = body["value"]
    assert "Outcome:" in json.dumps(card, ensure_ascii=False) and "Resolved" in json.dumps(card, ensure_ascii=False)
    assert_valid_cards(card)
    await connector.wait_until(lambda c: any(expected in t for t in texts_in(c, opened.thread)), what=expected)
    reply = next(t for t in texts_in(connector, opened.thread) if expected in t)
    assert reply.startswith("<at>Olga Ops</at>")


async def test_missing_input_is_refused_and_nothing_recorded(http, desk, connector):
    opened = await open_request(http, desk, connector)
    body = await triage(http, desk, connector, opened, DORA, "question", question_answer="   ")
    assert body["type"] == "application/vnd.microsoft.activity.message" and "answer" in body["value"]
    body = await triage(http, desk, connector, opened, DORA, "question", question_answer="Now with text")
    assert "Quick question" in json.dumps(body["value"])


async def test_training_gap_mentions_trainers_and_requester_and_writes_to_them(http, desk, connector):
    opened = await open_request(http, desk, connector)
    await connector.wait_until(lambda c: len(c.created) == 2, what="the pair's 1:1 chats")
    await triage(http, desk, connector, opened, PAULA, "training", training_note="Show them the export screen")
    await connector.wait_until(lambda c: any("training gap" in t for t in texts_in(c, opened.thread)), what="the training post")
    post_text = next(t for t in texts_in(connector, opened.thread) if "training gap" in t)
    assert "<at>Dana Trainer</at>" in post_text and "<at>Olga Ops</at>" in post_text
    await connector.wait_until(lambda c: any(x["members"][0]["id"] == "6a1f2e8c-0000-4000-8000-00000000c001" for x in c.created),
                               what="the 1:1 to Dana")


async def test_bug_files_one_jira_ticket_even_when_clicked_twice(http, desk, connector, jira):
    opened = await open_request(http, desk, connector)
    inputs = {"bug_summary": "Tour export 500 for Hamburg", "bug_description": "Steps: export Hamburg tours"}
    first, second = await asyncio.gather(
        triage(http, desk, connector, opened, DORA, "bug", **inputs),
        triage(http, desk, connector, opened, DORA, "bug", **inputs),
    )
    await connector.wait_until(lambda c: any("EDGE-1" in t for t in texts_in(c, opened.thread)), what="the ticket key")
    await asyncio.sleep(1.5)
    assert len(jira.issues) == 1
    issue = jira.issues[0]
    assert issue.fields["summary"] == "Tour export 500 for Hamburg"
    assert issue.fields["project"]["key"] == "EDGE" and issue.labels == [f"supportbot-{opened.activity['id']}"]
    assert "teams.microsoft.com/l/message/" in json.dumps(issue.fields["description"])
    card, _ = card_in(connector, opened.thread)
    assert "EDGE-1" in json.dumps(card)


async def test_jira_throttling_keeps_the_ticket_pending_then_files_it_once(http, desk, connector, jira):
    jira.fail_next(2, status=429, retry_after="1")
    opened = await open_request(http, desk, connector)
    body = await triage(http, desk, connector, opened, DORA, "bug", bug_summary="Export broken")
    assert "Ticket pending" in json.dumps(body["value"])
    await connector.wait_until(lambda c: any("EDGE-1" in t for t in texts_in(c, opened.thread)), timeout=15, what="the ticket")
    assert len(jira.issues) == 1


async def test_jira_down_then_back_files_the_ticket(http, desk, connector, jira):
    jira.down = True
    opened = await open_request(http, desk, connector)
    await triage(http, desk, connector, opened, DORA, "bug", bug_summary="Export broken")
    await asyncio.sleep(2)
    assert jira.issues == []
    jira.down = False
    await connector.wait_until(lambda c: any("EDGE-1" in t for t in texts_in(c, opened.thread)), timeout=15, what="the ticket")
    assert len(jira.issues) == 1


async def test_db_override_is_refused_by_default_with_a_suggestion(http, desk, connector):
    opened = await open_request(http, desk, connector)
    body = await triage(http, desk, connector, opened, DORA, "db_override", db_data="tour state", db_rows="1",
                        db_restartable="yes")
    assert "refused" in json.dumps(body["value"])
    await connector.wait_until(lambda c: any("won't change the database" in t for t in texts_in(c, opened.thread)), what="refusal")
    refusal = next(t for t in texts_in(connector, opened.thread) if "won't change the database" in t)
    assert "Restart or recreate" in refusal


async def test_db_override_approval_needs_a_second_person_with_production_access(http, desk, connector):
    opened = await open_request(http, desk, connector)
    body = await triage(http, desk, connector, opened, DORA, "db_override", db_data="tour state", db_rows="3",
                        db_reversible="yes", db_restartable="no", db_difficulty="low", db_risk="low",
                        db_decision="approve", db_reasons="Stuck tour, no admin page for it")
    assert "awaiting second" in json.dumps(body["value"])
    assert_valid_cards(body["value"])
    same = await click(http, desk, connector, opened, "request.db_confirm", DORA)
    assert "second person" in json.dumps(same)
    no_prod = await click(http, desk, connector, opened, "request.db_confirm", PAULA)
    assert "production access" in json.dumps(no_prod)
    confirmed = await click(http, desk, connector, opened, "request.db_confirm", FRITZ)
    text = json.dumps(confirmed["value"])
    assert "approved" in text and "Fritz Fallback" in text and "Resolved" in text


async def test_a_late_redelivery_after_paging_is_still_a_duplicate(http, desk, connector):
    opened = await open_request(http, desk, connector)
    await connector.wait_until(lambda c: len(c.created) == 2, what="paging done")
    await asyncio.sleep(0.5)
    await post(http, desk, opened.activity)
    await asyncio.sleep(1)
    assert sum("Thanks" in t for t in texts_in(connector, opened.thread)) == 1


async def test_outside_working_hours_the_ack_says_so_and_still_pages(http, start_bot, rotation, desk_env, connector, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Europe/Berlin")).weekday()
    other_days = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(d) != today]
    config = tmp_path / "support.yaml"
    config.write_text(f"working_hours:\n  days: [{', '.join(other_days)}]\n  start: '00:00'\n  end: '24:00'\n  public_holidays: false\n")
    bot = start_bot(**{**desk_env, "SUPPORT_CONFIG": str(config)})
    opened = await open_request(http, bot, connector)
    ack = next(t for t in texts_in(connector, opened.thread) if t.startswith("Thanks"))
    assert "outside working hours" in ack and "so support may not answer right away. I've paged support: <at>Dora Dev</at>" in ack


async def test_with_nobody_on_the_rotation_the_leads_are_paged(http, start_bot, desk_env, connector, storage_env):
    from bot.bootstrap import build_services
    from bot.config import load_storage_settings
    from bot.services.roster import import_roster
    from bot.services.roster_file import parse_roster
    from tests.e2e.conftest import ROSTER_E2E

    services = build_services(load_storage_settings(storage_env))
    await services.store.ensure_tables()
    await import_roster(parse_roster(ROSTER_E2E.read_text(), services.policy), services.members, services.weeks)
    await services.store.close()
    bot = start_bot(**desk_env)
    opened = await open_request(http, bot, connector)
    page = next(t for t in texts_in(connector, opened.thread) if "Nobody is on the support rotation" in t)
    assert "<at>Lars Lead</at>" in page


def test_an_invalid_support_config_stops_start_up_with_its_lines(start_bot, tmp_path):
    config = tmp_path / "support.yaml"
    config.write_text("working_hours:\n  start: nine\ndocs:\n  - title: x\n    url: wiki\n")
    bot = start_bot(wait=False, SUPPORT_CONFIG=str(config))
    assert bot.process.wait(20) == 2
    line = bot.log().strip().splitlines()[-1]
    assert line.startswith("configuration error: SUPPORT_CONFIG: line 2: working_hours.start")
    assert "line 5: docs[0].url must be an http(s) URL" in line


async def test_several_waiting_requests_get_one_escalation_that_lists_them(http, desk, connector):
    texts = ["The tour export for Hamburg fails with a 500", "Kann mir jemand Zugriff auf Metabase geben?",
             "Rechnung für Händler Nordsee Feinkost ist doppelt"]
    activities_ = [activities.channel_mention(text, connector.url, aad=OLGA, name="Olga Ops") for text in texts]
    await asyncio.gather(*(post(http, desk, a) for a in activities_))
    threads = [a["conversation"]["id"] for a in activities_]
    channel = threads[0].split(";")[0]

    def marked(mark: str) -> list[str]:
        return [s.body.get("text") or "" for s in connector.sent if mark in (s.body.get("text") or "")]

    await connector.wait_until(lambda c: marked("🚨"), timeout=15, what="the lead escalation")
    await asyncio.sleep(1.5)
    (first,), (second,) = marked("⏰"), marked("🚨")
    assert first.startswith("⏰ 3 requests have had no response") and second.startswith("🚨 3 requests")
    for activity in activities_:
        assert f"/{activity['id']}?" in first and f"/{activity['id']}?" in second  # a link to each thread
    assert "<at>Dora Dev</at>" in first and "<at>Lars Lead</at>" in second
    # One message each, in the channel itself; the threads get no escalation of their own.
    assert [s.conversation_id for s in connector.sent if "⏰" in (s.body.get("text") or "")] == [channel]
    assert not any("⏰" in t or "🚨" in t for thread in threads for t in texts_in(connector, thread))
    # Each card shows it was escalated.
    for thread in threads:
        assert "escalat" in json.dumps(card_in(connector, thread)[0]).lower()
