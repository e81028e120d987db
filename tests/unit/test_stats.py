"""Support figures from hand-computed requests and alerts: percentiles, breaches, hours, outcomes, tickets, periods."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.domain.alerts import AlertState
from bot.domain.iteration import IterationPolicy
from bot.domain.requests import Outcome
from bot.domain.stats import (
    HOW, Period, PeriodProblem, breached, compute, month_period, parse_period, percentile, summary_line,
)
from tests.support.figures import ADA, BERLIN, NOVEMBER, NOW, REQUESTS, THREADS, UTC, local, request, thread

POLICY = IterationPolicy()


@pytest.fixture(scope="module")
def figures():
    return compute(NOVEMBER, REQUESTS, THREADS, NOW, BERLIN)


def test_requests_count_by_arrival_in_the_team_time_zone(figures):
    assert figures.requests == 7
    assert figures.answered == 6


def test_median_and_p90_interpolate_between_ranks(figures):
    # sorted: 30 60 90 120 300 600; median at rank 2.5 -> (90+120)/2; p90 at rank 4.5 -> 300 + 0.5*(600-300)
    assert figures.median_seconds == 105
    assert figures.p90_seconds == 450


def test_breaches_are_late_answers_and_unanswered_past_targets(figures):
    assert figures.breaches == 2


def test_outcomes_in_triage_order_without_zeros(figures):
    assert figures.outcomes == ((Outcome.BUG, 2), (Outcome.EXCEPTION, 1), (Outcome.QUESTION, 2), (Outcome.DOCUMENTED, 1))
    assert figures.untriaged == 1


def test_hours_are_local(figures):
    expected = [0] * 24
    expected[0], expected[9], expected[11], expected[16], expected[17] = 1, 1, 1, 2, 2
    assert list(figures.by_hour) == expected
    assert figures.busiest_window == 16 and figures.late_afternoon_peak


def test_tickets_from_requests_and_alerts(figures):
    assert (figures.request_tickets, figures.alert_tickets, figures.tickets) == (2, 1, 3)


def test_alerts_received_and_handled(figures):
    assert (figures.alerts, figures.alert_events) == (3, 9)
    assert (figures.alerts_taken, figures.alerts_dismissed, figures.alerts_handled) == (1, 1, 2)
    assert figures.handled_median_seconds == 360  # (120 + 600) / 2


def test_summary_line_has_every_figure(figures):
    assert summary_line(figures) == (
        "November 2026: 7 #backend requests, first response median 1.8 min, p90 7.5 min; 2 of 7 missed the "
        "5-minute target. 16–18h (4 requests) was the peak. 3 Jira tickets created. "
        "Bugsnag: 3 alerts (9 events), 2 handled, median 6.0 min to being handled."
    )


def test_another_peak_is_named():
    found = compute(NOVEMBER, [request(local(2, 9, m), 10) for m in (1, 2, 3)] + [request(local(2, 16), 10)], [], NOW, BERLIN)
    assert found.busiest_window == 9  # a lone busy 9h is 9–11h, not 8–10h
    assert not found.late_afternoon_peak
    assert "16–18h (1 request) was not the peak: busiest was 9–11h (3 requests)." in summary_line(found)


def test_a_tie_with_16_to_18_counts_as_the_peak():
    found = compute(NOVEMBER, [request(local(2, 10), 10), request(local(3, 10), 10), request(local(2, 17), 10),
                               request(local(3, 16), 10)], [], NOW, BERLIN)
    assert found.late_afternoon_peak


def test_an_empty_period_has_no_figures_and_says_so():
    found = compute(NOVEMBER, [], [], NOW, BERLIN)
    assert (found.requests, found.median_seconds, found.p90_seconds, found.breaches, found.busiest_window) == (0, None, None, 0, None)
    assert not found.late_afternoon_peak
    assert summary_line(found) == "November 2026: no #backend requests. Bugsnag: no alerts."


def test_an_unanswered_request_breaches_only_once_its_target_passed():
    r = request(local(30, 9))
    assert not breached(r, r.target_at)
    assert breached(r, r.target_at + timedelta(seconds=1))


@pytest.mark.parametrize("values, fraction, expected", [
    ([], 0.5, None),
    ([7], 0.9, 7),
    ([4, 1, 3, 2], 0.5, 2.5),
    ([1, 2, 3, 4], 0.9, 3.7),  # rank 2.7: 3 + 0.7 * (4 - 3)
    ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9, 91),  # rank 8.1
    ([1, 2, 3], 1.0, 3),
])
def test_percentile(values, fraction, expected):
    found = percentile(values, fraction)
    assert found is None if expected is None else found == pytest.approx(expected)


# --- periods ----------------------------------------------------------------------------------------

MONDAY = datetime(2026, 11, 30, 10, tzinfo=BERLIN)


def test_no_argument_is_this_iteration():
    period = parse_period("", MONDAY, POLICY, BERLIN)
    assert period == Period("This iteration (Wed 25 Nov – Tue 1 Dec 2026)", datetime(2026, 11, 25, tzinfo=BERLIN),
                            datetime(2026, 12, 2, tzinfo=BERLIN))


def test_last_is_the_previous_iteration():
    period = parse_period("  LAST ", MONDAY, POLICY, BERLIN)
    assert period.label == "Last iteration (Wed 18 Nov – Tue 24 Nov 2026)"
    assert (period.first, period.after) == (datetime(2026, 11, 18, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN))


def test_a_month_runs_from_local_midnight_to_local_midnight():
    period = parse_period("2026-11", MONDAY, POLICY, BERLIN)
    assert period.label == "November 2026"
    assert period.first.astimezone(UTC) == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert period.after.astimezone(UTC) == datetime(2026, 11, 30, 23, tzinfo=UTC)


def test_a_month_with_the_spring_clock_change_is_an_hour_short():
    period = parse_period("2026-03", MONDAY, POLICY, BERLIN)
    assert period.first.astimezone(UTC) == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert period.after.astimezone(UTC) == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert period.after.astimezone(UTC) - period.first.astimezone(UTC) == timedelta(days=31, hours=-1)


def test_december_ends_in_the_next_year():
    period = parse_period("2026-12", MONDAY, POLICY, BERLIN)
    assert (period.first, period.after) == (datetime(2026, 12, 1, tzinfo=BERLIN), datetime(2027, 1, 1, tzinfo=BERLIN))


@pytest.mark.parametrize("text", ["foo", "2026-13", "2026-00", "2026-11-01", "november", "last week", "1999-12"])
def test_other_text_is_a_period_problem_naming_the_usage(text):
    with pytest.raises(PeriodProblem) as problem:
        parse_period(text, MONDAY, POLICY, BERLIN)
    assert str(problem.value).endswith(HOW)


def test_time_to_being_handled_is_real_time_across_the_autumn_clock_change():
    opened = datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN)  # CEST; clocks go back at 03:00
    alert = thread(opened, 1)
    alert = replace(alert, opened_at=opened, state=AlertState.HANDLING, handled_by=ADA,
                    handled_at=datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN))
    found = compute(month_period(2026, 10, BERLIN), [], [alert], NOW, BERLIN)
    assert found.handled_median_seconds == 3 * 3600  # the wall clock says 2 h


def test_the_target_in_the_text_is_the_configured_one():
    assert "missed the 5-minute target" in summary_line(compute(NOVEMBER, REQUESTS, THREADS, NOW, BERLIN))
    assert "missed the 90-second target" in summary_line(compute(NOVEMBER, REQUESTS, THREADS, NOW, BERLIN, 90))
    assert "missed the 10-minute target" in summary_line(compute(NOVEMBER, REQUESTS, THREADS, NOW, BERLIN, 600))
