"""The stats card passes the official parser, and its charts and their fallbacks carry the same numbers."""

from __future__ import annotations

import json

from bot.domain.requests import Outcome
from bot.domain.stats import compute, summary_line
from cards.stats import stats_card
from tests.support.cardcheck import assert_valid_cards
from tests.support.figures import BERLIN, NOVEMBER, NOW, REQUESTS, THREADS, local, request


def elements(node, type_name: str) -> list[dict]:
    """Every element of a type anywhere in the card, fallbacks excluded."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == type_name:
            found.append(node)
        for key, value in node.items():
            if key != "fallback":
                found += elements(value, type_name)
    elif isinstance(node, list):
        for item in node:
            found += elements(item, type_name)
    return found


FIGURES = compute(NOVEMBER, REQUESTS, THREADS, NOW, BERLIN)
CARD = stats_card(FIGURES)
EMPTY = stats_card(compute(NOVEMBER, [], [], NOW, BERLIN))
UNTRIAGED = stats_card(compute(NOVEMBER, [request(local(3, 16), 30)], [], NOW, BERLIN))


def test_every_stats_card_passes_the_official_parser():
    assert_valid_cards(CARD, EMPTY, UNTRIAGED)


def test_the_hour_chart_and_its_fallback_carry_the_local_hours():
    (chart,) = elements(CARD, "Chart.VerticalBar")
    # From the first busy hour (0h) to 17h, so that 16–18h is always shown; idle hours are zero bars.
    assert chart["data"] == [{"x": str(h), "y": {0: 1, 9: 1, 11: 1, 16: 2, 17: 2}.get(h, 0)} for h in range(18)]
    assert chart["fallback"]["type"] == "TextBlock"
    assert chart["fallback"]["text"] == "Requests by hour: 0h 1 · 9h 1 · 11h 1 · 16h 2 · 17h 2"


def test_the_outcome_donut_and_its_fallback_carry_the_counts():
    (donut,) = elements(CARD, "Chart.Donut")
    expected = [("Bug → Jira", 2), ("Exception", 1), ("Quick question", 2), ("Documented", 1)]
    assert donut["data"] == [{"legend": label, "value": n} for label, n in expected]
    assert donut["fallback"]["type"] == "FactSet"
    assert donut["fallback"]["facts"] == [{"title": label, "value": str(n)} for label, n in expected]
    assert Outcome.BUG.label == "Bug → Jira"


def test_the_facts_show_response_times_breaches_tickets_and_alerts():
    facts = {f["title"]: f["value"] for fs in elements(CARD, "FactSet") for f in fs["facts"]}
    assert facts["Requests"] == "7"
    assert facts["Answered"] == "6 of 7"
    assert facts["First response"] == "median 1.8 min · p90 7.5 min"
    assert facts["Missed 5-minute target"] == "2 of 7"
    assert facts["Not triaged"] == "1"
    assert facts["Jira tickets"] == "3 (2 for requests, 1 for alerts)"
    assert facts["Bugsnag alerts"] == "3 (9 events)"
    assert facts["Handled"] == "2 of 3 (1 taken, 1 not impactful)"
    assert facts["Median to being handled"] == "6.0 min"
    text = json.dumps(CARD, ensure_ascii=False)
    assert "November 2026" in text and "16–18h (4 requests) was the peak." in text


def test_the_summary_is_the_cards_text_fallback():
    assert CARD["fallbackText"] == summary_line(FIGURES)


def test_an_empty_period_says_there_were_no_requests_and_draws_no_charts():
    text = json.dumps(EMPTY, ensure_ascii=False)
    assert "No #backend requests in this period." in text
    assert not elements(EMPTY, "Chart.VerticalBar") and not elements(EMPTY, "Chart.Donut")


def test_without_outcomes_there_is_no_donut():
    assert elements(UNTRIAGED, "Chart.VerticalBar")
    assert not elements(UNTRIAGED, "Chart.Donut")
