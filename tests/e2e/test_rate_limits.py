"""The 16-18 h rush against a Connector that keeps Teams' rate limits: nothing is throttled, every request is
acknowledged first in its thread, and a request costs at most two channel messages before a response."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import yaml

from tests.e2e.conftest import OLGA, post
from tests.support import activities
from tests.support.connector import TEAMS_APP_LIMITS, Connector, Sent

INCIDENTS = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "incident_requests.yaml").read_text())
BACKEND = "19:backend0channel0id@thread.tacv2"  # the channel of tests/fixtures/teams/channel_mention.json
GROUPED = "looks like the same problem as"


def kind(sent: Sent) -> str:
    """What a message the bot posted is: ack, grouped ack, card, escalation or other."""
    if sent.body.get("attachments"):
        return "card"
    text = sent.body.get("text") or ""
    if text.startswith(("⏰", "🚨")):
        return "escalation"
    if text.startswith("Thanks <at>"):
        return "grouped" if GROUPED in text else "ack"
    return "other"


def posts_in(connector: Connector, thread: str) -> list[Sent]:
    """The messages the bot posted in a thread, in the order the Connector took them."""
    return [s for s in connector.sent if s.method == "POST" and s.conversation_id == thread]


def linked(text: str) -> set[str]:
    """The request ids a digest links to (each link names its thread's root message)."""
    return set(re.findall(r"parentMessageId=(\d+)", text))


async def send(http, url: str) -> tuple[int, dict, dict]:
    """POST a message to the stand-in; its status, headers and JSON body."""
    async with http.post(url, json={"type": "message", "text": "hello"}) as answer:
        return answer.status, dict(answer.headers), await answer.json()


async def test_the_stand_in_answers_429_when_a_thread_or_the_app_is_flooded(http, connector):
    connector.enforce_limits = True
    thread = f"{BACKEND};messageid=1764427000001"
    url = f"{connector.url}v3/conversations/{thread}/activities"
    answers = [await send(http, url) for _ in range(9)]
    # Seven fit the thread's budget at once (and eight in two seconds); the ninth never does.
    assert [status for status, _, _ in answers[:7]] == [201] * 7 and answers[8][0] == 429
    status, headers, body = answers[8]
    assert int(headers["Retry-After"]) >= 1 and body["error"]["code"] == "TooManyRequests"
    assert {t.key for t in connector.throttled} == {thread}
    assert connector.throttled[0].limit in ((7, 1.0), (8, 2.0))
    # Another thread of the same channel has its own budget.
    assert (await send(http, f"{connector.url}v3/conversations/{BACKEND};messageid=1764427000002/activities"))[0] == 201
    # The app's budget is shared by all conversations: 50 a second.
    (count, _), = TEAMS_APP_LIMITS
    spread = [f"{connector.url}v3/conversations/a:chat{i}/activities" for i in range(count + 5)]
    statuses = [status for status, _, _ in await asyncio.gather(*(send(http, u) for u in spread))]
    assert statuses.count(429) >= 5 and any(t.key == "app" for t in connector.throttled)
    # A refused message was not taken.
    assert len([s for s in connector.sent if s.conversation_id == thread]) == len([a for a in answers if a[0] == 201])


def burst_texts() -> tuple[list[str], list[str]]:
    """The backlog (two incidents' first requests and four others) and a burst of 30: two certain duplicates of a
    backlog incident (the same error class), the other incidents' requests, and unrelated ones."""
    incidents, unrelated = INCIDENTS["incidents"], INCIDENTS["unrelated"]
    backlog = [incidents["nomethoderror"][0], incidents["tracking-sms"][0], *unrelated[:4]]
    duplicates = incidents["nomethoderror"][1:] + incidents["tracking-sms"][1:]
    others = [t for name, texts in incidents.items() if name not in ("nomethoderror", "tracking-sms") for t in texts]
    burst = (duplicates + others + unrelated[4:])[:30]
    assert len(burst) == 30
    return backlog, burst


async def test_a_burst_of_thirty_with_an_escalation_backlog_keeps_teams_limits(http, start_bot, rotation, desk_env,
                                                                            connector):
    """30 simultaneous requests in #backend while six earlier ones (nobody answered them) fall due for escalation."""
    connector.enforce_limits = True
    bot = start_bot(**desk_env)  # first-response target 2 s, leads at 4 s
    backlog_texts, burst_texts_ = burst_texts()

    def mention(text: str) -> dict:
        return activities.channel_mention(text, connector.url, aad=OLGA, name="Olga Ops")

    backlog = [mention(t) for t in backlog_texts]
    for activity in backlog:
        status, _ = await post(http, bot, activity)
        assert status == 201
    backlog_threads = [a["conversation"]["id"] for a in backlog]
    await connector.wait_until(lambda c: all(any(kind(s) == "card" for s in posts_in(c, t)) for t in backlog_threads),
                               timeout=60, what="the backlog's cards")

    # The backlog's target passes now; its escalations are due while the burst arrives.
    await asyncio.sleep(1.0)
    burst = [mention(t) for t in burst_texts_]
    answers = await asyncio.gather(*(post(http, bot, a) for a in burst))
    assert [status for status, _ in answers] == [201] * 30

    requests = backlog + burst
    threads = [a["conversation"]["id"] for a in requests]
    ids = {a["conversation"]["id"]: a["id"] for a in requests}

    def acked(c: Connector, thread: str) -> str | None:
        first = next((kind(s) for s in posts_in(c, thread) if kind(s) in ("ack", "grouped")), None)
        return first

    def escalated(c: Connector) -> set[str]:
        found = set()
        for s in c.sent:
            text = s.body.get("text") or ""
            if s.method == "POST" and text.startswith("⏰"):
                found |= linked(text) if s.conversation_id == BACKEND else {ids.get(s.conversation_id, "")}
        return found

    def settled(c: Connector) -> bool:
        states = {t: acked(c, t) for t in threads}
        if None in states.values():
            return False
        paged = [t for t, state in states.items() if state == "ack"]
        return (all(any(kind(s) == "card" for s in posts_in(c, t)) for t in paged)
                and {ids[t] for t in paged} <= escalated(c))

    await connector.wait_until(settled, timeout=120, what="every acknowledgement, card and first escalation")
    await asyncio.sleep(1.0)  # anything still in flight lands (a second ack or card would show below)

    assert connector.throttled == [], [f"{t.method} {t.key} {t.limit}" for t in connector.throttled]
    grouped = []
    for activity in requests:
        thread = activity["conversation"]["id"]
        kinds = [kind(s) for s in posts_in(connector, thread)]
        opening = [k for k in kinds if k != "escalation"]
        assert opening and opening[0] in ("ack", "grouped"), (activity["text"], kinds)
        assert kinds[0] in ("ack", "grouped"), f"something came before the acknowledgement: {kinds}"
        if opening[0] == "grouped":
            grouped.append(activity)
            assert opening == ["grouped"], (activity["text"], kinds)  # one message, no page and no card
        else:
            assert opening == ["ack", "card"], (activity["text"], kinds)  # the ack pages; then the card
    # The two requests naming the backlog's NoMethodError join its incident for certain (the same error class).
    nomethod = {a["id"] for a in burst if "NoMethodError" in a["text"]}
    assert nomethod <= {a["id"] for a in grouped}
    # Escalations of several waiting requests went out as digests: fewer ⏰ messages than requests escalated.
    reminders = [s for s in connector.sent if s.method == "POST" and (s.body.get("text") or "").startswith("⏰")]
    assert len(reminders) < len(escalated(connector))
    assert any(s.conversation_id == BACKEND and len(linked(s.body["text"])) > 1 for s in reminders)
