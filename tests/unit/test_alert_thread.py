"""An alert thread's escalation levels and event count: each level sent once and each event counted once, whatever
order their jobs run in and however often."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.domain.alerts import Alert, AlertThread
from tests.support.figures import thread

T0 = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def test_a_late_first_alert_escalation_still_goes_out_after_the_second():
    opened = thread(T0, events=1)
    opened = replace(opened, alert=replace(opened.alert, release_stage="production"))
    later = T0 + timedelta(minutes=30)
    lead_first = opened.escalated(2)
    assert lead_first.needs_escalation(1, later) and not lead_first.needs_escalation(2, later)
    both = lead_first.escalated(1)
    assert not both.needs_escalation(1, later) and not both.needs_escalation(2, later)
    assert both.escalations == 2 and both.escalated(2) is both


def test_an_event_whose_job_runs_again_is_counted_once():
    first = Alert("p1", "backend", "exception", "New exception", error_id="e1", occurrences=1)
    opened = AlertThread.opened(first, T0, event="alert|a")
    again = replace(first, occurrences=2)
    counted = opened.repeated(again, T0, event="alert|b")
    assert counted.events == 2
    # The jobs of both events run again (their instance died before finishing them): nothing changes.
    assert counted.repeated(again, T0, event="alert|b") is counted
    assert counted.repeated(first, T0, event="alert|a") is counted
    assert counted.repeated(again, T0, event="alert|c").events == 3
