"""An alert thread's escalation levels: each sent exactly once, whatever order their jobs run in."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

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
