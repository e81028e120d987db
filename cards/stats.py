"""The support figures card: requests, response times, busy hours, outcomes, tickets and Bugsnag alerts."""

from __future__ import annotations

from bot.domain.stats import LATE_AFTERNOON, WINDOW_HOURS, Figures, duration, peak_sentence, summary_line

from .common import card, facts, heading, text


def hour_chart(figures: Figures) -> dict:
    """Requests by local hour as a Teams bar chart; clients without charts show the same numbers as text."""
    busy = [h for h, n in enumerate(figures.by_hour) if n]
    # Always show 16–18h, so the bars show whether the expected peak held.
    first = min(busy + [LATE_AFTERNOON])
    last = max(busy + [LATE_AFTERNOON + WINDOW_HOURS - 1])
    listed = " · ".join(f"{h}h {figures.by_hour[h]}" for h in busy)
    return {
        "type": "Chart.VerticalBar",
        "xAxisTitle": "Hour of arrival",
        "yAxisTitle": "Requests",
        "showBarValues": True,
        "data": [{"x": str(h), "y": figures.by_hour[h]} for h in range(first, last + 1)],
        "fallback": text(f"Requests by hour: {listed}"),
    }


def outcome_chart(figures: Figures) -> dict:
    """Outcomes as a Teams donut chart; clients without charts show a fact list with the same counts."""
    return {
        "type": "Chart.Donut",
        "data": [{"legend": outcome.label, "value": n} for outcome, n in figures.outcomes],
        "fallback": facts([(outcome.label, str(n)) for outcome, n in figures.outcomes]),
    }


def _request_section(figures: Figures) -> list[dict]:
    if not figures.requests:
        return [text("No #backend requests in this period.", weight="Bolder")]
    n = figures.requests
    section = [
        facts([
            ("Requests", str(n)),
            ("Answered", f"{figures.answered} of {n - figures.grouped}" + (" (grouped requests follow their incident)" if figures.grouped else "")),
            ("First response", f"median {duration(figures.median_seconds)} · p90 {duration(figures.p90_seconds)}"),
            (f"Missed {figures.target} target", f"{figures.breaches} of {n}"),
            ("Not triaged", str(figures.untriaged)),
            ("Incidents", f"{figures.incidents} ({figures.grouped} request{'s' if figures.grouped != 1 else ''} grouped into them)"),
        ]),
        text(f"Requests by hour ({figures.period.first.tzinfo})", weight="Bolder", spacing="Medium"),
        hour_chart(figures),
        text(peak_sentence(figures), isSubtle=True),
    ]
    if figures.outcomes:
        section += [text("Outcomes", weight="Bolder", spacing="Medium"), outcome_chart(figures)]
    return section


def _jira_and_bugsnag(figures: Figures) -> list[dict]:
    return [
        text("Jira and Bugsnag", weight="Bolder", spacing="Medium"),
        facts([
            ("Jira tickets", f"{figures.tickets} ({figures.request_tickets} for requests, {figures.alert_tickets} for alerts)"),
            ("Bugsnag alerts", f"{figures.alerts} ({figures.alert_events} events)"),
            ("Handled", f"{figures.alerts_handled} of {figures.alerts} "
                        f"({figures.alerts_taken} taken, {figures.alerts_dismissed} not impactful)"),
            ("Median to being handled", duration(figures.handled_median_seconds)),
        ]),
    ]


def stats_card(figures: Figures) -> dict:
    """The figures of one period; the one-paragraph summary is the card's text fallback."""
    body = [heading("Support figures"), text(figures.period.label, isSubtle=True, spacing="None")]
    body += _request_section(figures) + _jira_and_bugsnag(figures)
    return card(body, fallbackText=summary_line(figures))
