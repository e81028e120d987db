"""The request state machine: the first-response clock, claims, outcomes and the four-eyes override."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from bot.domain.requests import (
    Address, AlreadyClaimed, AlreadyTriaged, DbDecision, NotAllowed, Outcome, Person, SupportRequest, TicketState,
    confirm_db, refuse_db,
)

T0 = datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)
OLGA, DORA, PAULA = Person("o", "Olga"), Person("d", "Dora"), Person("p", "Paula")


def fresh() -> SupportRequest:
    return SupportRequest("m1", Address("https://s/", "19:c;messageid=m1"), OLGA, "Export broken", T0, T0 + timedelta(minutes=5), True)


def test_claim_stops_the_clock_once():
    claimed = fresh().claim(DORA, T0 + timedelta(seconds=90))
    assert claimed.response_seconds == 90 and claimed.first_response_by == DORA
    assert claimed.claim(DORA, T0 + timedelta(minutes=3)) is claimed  # a double click changes nothing
    with pytest.raises(AlreadyClaimed, match="Dora is already on it"):
        claimed.claim(PAULA, T0 + timedelta(minutes=3))


def test_thread_reply_stops_the_clock_but_does_not_claim():
    replied = fresh().responded(PAULA, T0 + timedelta(seconds=30))
    assert replied.response_seconds == 30 and replied.claimed_by is None
    assert replied.responded(DORA, T0 + timedelta(minutes=1)) is replied


def test_triage_records_outcome_and_resolution_and_claims():
    triaged = fresh().triage(Outcome.QUESTION, PAULA, T0 + timedelta(minutes=2), {"answer": "yes"})
    assert triaged.outcome is Outcome.QUESTION and triaged.resolved_at == T0 + timedelta(minutes=2)
    assert triaged.claimed_by == PAULA and triaged.response_seconds == 120
    with pytest.raises(AlreadyTriaged, match="Paula already triaged this as Quick question"):
        triaged.triage(Outcome.BUG, DORA, T0, {})


def test_bug_resolves_when_the_ticket_exists():
    bug = fresh().triage(Outcome.BUG, DORA, T0, {"summary": "x"}, resolved=False).ticket_pending()
    assert bug.resolved_at is None and bug.ticket is TicketState.PENDING
    filed = bug.ticket_created("EDGE-1", "https://j/browse/EDGE-1", T0 + timedelta(minutes=1))
    assert filed.ticket is TicketState.CREATED and filed.resolved_at == T0 + timedelta(minutes=1)


def test_escalation_levels_only_while_the_clock_runs():
    request = fresh()
    assert request.needs_escalation(1) and request.needs_escalation(2)
    once = request.escalated(1)
    assert not once.needs_escalation(1) and once.needs_escalation(2)
    assert not once.claim(DORA, T0).needs_escalation(2)


def test_a_late_first_escalation_still_goes_out_after_the_second():
    # The ⏰ job can run after the 🚨 one (Teams refused the first for a while): each level is sent exactly once.
    lead_first = fresh().escalated(2)
    assert lead_first.needs_escalation(1) and not lead_first.needs_escalation(2)
    both = lead_first.escalated(1)
    assert not both.needs_escalation(1) and not both.needs_escalation(2)
    assert both.escalations == 2 and both.escalated(1) is both


def awaiting() -> SupportRequest:
    detail = {"decision": DbDecision.AWAITING_SECOND.value, "proposed_by": "d"}
    return fresh().triage(Outcome.DB_OVERRIDE, DORA, T0, detail, resolved=False)


def test_override_needs_someone_else_with_production_access():
    with pytest.raises(NotAllowed, match="second person"):
        confirm_db(awaiting(), DORA, True, T0)
    with pytest.raises(NotAllowed, match="production access"):
        confirm_db(awaiting(), PAULA, False, T0)
    approved = confirm_db(awaiting(), PAULA, True, T0 + timedelta(minutes=4))
    assert approved.detail["decision"] == "approved" and approved.detail["confirmed_by"] == "p"
    assert approved.resolved_at == T0 + timedelta(minutes=4)
    with pytest.raises(AlreadyTriaged):
        confirm_db(approved, PAULA, True, T0)


def test_pending_override_can_be_refused():
    refused = refuse_db(awaiting(), PAULA, T0)
    assert refused.detail["decision"] == "refused" and refused.resolved_at == T0


@given(st.lists(st.sampled_from(["claim-d", "claim-p", "reply-d", "reply-p", "esc1", "esc2"]), max_size=12))
def test_any_sequence_keeps_the_first_response_and_a_single_owner(steps):
    request = fresh()
    first = None
    for i, step in enumerate(steps):
        at = T0 + timedelta(seconds=i + 1)
        who = DORA if step.endswith("-d") else PAULA
        if step.startswith("claim"):
            try:
                request = request.claim(who, at)
            except AlreadyClaimed:
                assert request.claimed_by != who
        elif step.startswith("reply"):
            request = request.responded(who, at)
        else:
            request = request.escalated(int(step[-1]))
        if first is None and request.first_response_at is not None:
            first = (request.first_response_at, request.first_response_by)
    if first:
        assert (request.first_response_at, request.first_response_by) == first
        assert not request.needs_escalation(1) and not request.needs_escalation(2)
