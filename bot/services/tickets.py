"""Filing one Jira ticket per thing, whatever retries happen, for requests and alerts alike."""

from __future__ import annotations

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


__all__ = ["file_once", "JiraRejected"]
