"""Filing one Jira ticket per thing, whatever retries happen, for requests and alerts alike."""

from __future__ import annotations

from datetime import datetime

from ..domain.jobs import RetryLater
from ..integrations.jira import JiraRejected, JiraTicket, JiraUnavailable, adf_document


async def file_once(tickets, *, project: str, issue_type: str, summary: str, paragraphs: list, label: str,
                    retry_seconds: float) -> JiraTicket:
    """Create the ticket with this label unless it exists; RetryLater when Jira is away, JiraRejected for good."""
    try:
        return await tickets.create_once(project, issue_type, summary, adf_document(paragraphs), label)
    except JiraUnavailable as err:
        # A lost answer may still have created the ticket, and Jira's search lags behind writes:
        # wait long enough that the next attempt finds it instead of filing a second one.
        raise RetryLater(str(err), max(err.retry_after or 0.0, retry_seconds)) from err


def wait_for_earlier_attempt(attempted_at: str | None, now: datetime, retry_seconds: float) -> None:
    """RetryLater while an earlier attempt is younger than retry_seconds.

    An attempt whose outcome is unknown (a lost answer, a crash, a failed write after Jira answered) may have
    created the ticket, and Jira's search lags behind its writes: searching again too soon would file a second one.
    """
    if not attempted_at:
        return
    wait = retry_seconds - (now - datetime.fromisoformat(attempted_at)).total_seconds()
    if wait > 0:
        raise RetryLater("waiting for Jira's search to catch up with an earlier attempt", wait)


__all__ = ["file_once", "wait_for_earlier_attempt", "JiraRejected"]
