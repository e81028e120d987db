"""The parked-jobs card passes the official parser and says what each job was about, with a Retry per job."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.jobs import Job
from cards.jobs import SHOWN, parked_jobs_card, subject
from bot.core.verbs import Verb
from tests.support.cardcheck import assert_valid_cards
from tests.support.cards import actions_in

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc)


def parked(job_id: str, kind: str, payload: dict, error: str = "Teams refused it (403)", hours: float = 1) -> Job:
    first = NOW - timedelta(hours=hours + 6)
    return Job(job_id, kind, NOW, payload, attempts=4, first_attempt=first, last_attempt=NOW - timedelta(hours=hours),
               last_error=error, parked_at=NOW - timedelta(hours=hours))


ALERT = parked("alert|1", "alert.deliver", {"alert": {"exception_class": "NoMethodError", "message": "undefined method `tour'"}})
TICKET = parked("ticket|r1", "request.ticket", {"request": "1764427330124"}, "gave up after 40 attempts in 6 h: Jira 503", 30)
DIRECT = parked("direct|r1|d1", "request.direct", {"person": ["d1", "Dora Dev"], "text": "…", "via": ["u", "t"]})
PICK = parked("cycle|pick|2026-12-02", "cycle.pick", {"start": "2026-12-02"})


def test_the_card_lists_each_parked_job_with_its_story_and_a_retry():
    card = parked_jobs_card([ALERT, TICKET, DIRECT, PICK], BERLIN, NOW)
    assert_valid_cards(card)
    text = json.dumps(card, ensure_ascii=False)
    for expected in ("4 jobs gave up", "alert.deliver", "Bugsnag NoMethodError: undefined method `tour'",
                     "request 1764427330124", "1:1 message to Dora Dev", "the iteration starting 2026-12-02",
                     "Teams refused it (403)", "gave up after 40 attempts in 6 h: Jira 503", "16:30", "Mon 30 Nov 11:30"):
        assert expected in text, expected
    retries = [a["data"] for a in actions_in(card) if a["verb"] == Verb.JOB_RETRY.value]
    assert [d["job"] for d in retries] == ["alert|1", "ticket|r1", "direct|r1|d1", "cycle|pick|2026-12-02"]
    assert retries[0]["since"] == ALERT.parked_at.isoformat()
    (retry_all,) = [a for a in actions_in(card) if a["verb"] == Verb.JOB_RETRY_ALL.value]
    assert retry_all["data"]["asof"] == NOW.isoformat()


def test_an_empty_list_and_a_notice():
    card = parked_jobs_card([], BERLIN, NOW, notice="🔁 Retrying 2 jobs.")
    assert_valid_cards(card)
    text = json.dumps(card, ensure_ascii=False)
    assert "No parked jobs" in text and "Retrying 2 jobs" in text and not list(actions_in(card))


def test_a_long_list_shows_the_newest_and_says_how_many_more():
    many = [parked(f"j{n}", "request.direct", {"person": ["x", f"P{n}"]}) for n in range(SHOWN + 5)]
    card = parked_jobs_card(many, BERLIN, NOW)
    assert_valid_cards(card)
    assert len([a for a in actions_in(card) if a["verb"] == Verb.JOB_RETRY.value]) == SHOWN
    assert "…and 5 more" in json.dumps(card, ensure_ascii=False)


def test_subject_falls_back_to_the_id():
    assert subject(Job("something|odd", "x", NOW, {"other": 1})) == "something|odd"
