"""The Bugsnag alert card: what broke, how often, who is on support, and one-click handling."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.alerts import AlertState, AlertThread
from bot.domain.requests import TicketState

from bot.domain.text import format_when

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb


def _data(thread: AlertThread, **extra) -> dict:
    return {"alert": thread.key, "rev": thread.revision, **extra}


def _first_seen(raw: str, tz: ZoneInfo) -> str:
    try:
        return format_when(datetime.fromisoformat(raw.replace("Z", "+00:00")), tz)
    except ValueError:
        return raw or "unknown"


def _status(thread: AlertThread, tz: ZoneInfo) -> list[dict]:
    lines = []
    if thread.state is AlertState.HANDLING and thread.handled_by:
        lines.append(text(f"🛠️ Being handled by {thread.handled_by.name} since {thread.handled_at.astimezone(tz):%H:%M}", weight="Bolder"))
    elif thread.state is AlertState.NOT_IMPACTFUL and thread.handled_by:
        lines.append(text(f"🔕 Not impactful ({thread.handled_by.name}): {thread.reason}"))
    elif thread.escalations:
        lines.append(text("Nobody has taken this yet: escalated " + ("to the leads" if thread.escalations > 1 else "to the pair"), color="Attention"))
    if thread.snoozed_until and thread.state is AlertState.OPEN:
        lines.append(text(f"😴 Snoozed until {format_when(thread.snoozed_until, tz)}", isSubtle=True))
    if thread.ticket is TicketState.CREATED:
        lines.append(text(f"🎫 [{thread.ticket_key}]({thread.ticket_url})"))
    elif thread.ticket is TicketState.PENDING:
        lines.append(text("🎫 Ticket pending: Jira will be retried until it answers"))
    elif thread.ticket is TicketState.FAILED:
        lines.append(text(f"🎫 Jira refused the ticket: {thread.extra.get('ticket_error', '')}", color="Attention"))
    if thread.earlier_thread:
        lines.append(text(f"[Earlier thread for this error]({thread.earlier_thread})", isSubtle=True))
    return lines


def alert_card(thread: AlertThread, support: str, tz: ZoneInfo) -> dict:
    """The alert card for a thread as it is now."""
    a = thread.alert
    body = [
        heading(f"🐞 {a.title}"),
        text(a.message or a.trigger_message, spacing="None"),
        facts([
            ("Context", a.context or "—"),
            ("Release", f"{a.release_stage or '—'} · {a.app_version or 'no version'}"),
            ("Occurrences", f"{a.occurrences} ({thread.events} webhook{'s' if thread.events != 1 else ''} here)"),
            ("Users affected", str(a.users_affected)),
            ("First seen", _first_seen(a.first_received, tz)),
            ("Trigger", a.trigger_message or a.trigger_type),
            ("On support", support or "nobody on the rotation"),
        ]),
        *_status(thread, tz),
    ]
    actions = []
    link = a.url or a.project_url
    if link:
        actions.append({"type": "Action.OpenUrl", "title": "Open in Bugsnag", "url": link})
    if thread.clock_running:
        actions.append(execute("🛠️ I'm handling it", Verb.ALERT_HANDLE, _data(thread), style="positive"))
    if thread.ticket is TicketState.NONE or thread.ticket is TicketState.FAILED:
        actions.append(execute("🎫 Create Jira ticket", Verb.ALERT_TICKET, _data(thread)))
    if thread.clock_running:
        actions.append({
            "type": "Action.ShowCard", "title": "Not impactful",
            "card": {"type": "AdaptiveCard", "body": [
                {"type": "Input.Text", "id": "reason", "label": "Why is it not impactful?", "isRequired": True,
                 "errorMessage": "A reason is required"}],
                "actions": [execute("Record", Verb.ALERT_DISMISS, _data(thread))]},
        })
        actions.append({
            "type": "Action.ShowCard", "title": "Snooze",
            "card": {"type": "AdaptiveCard", "body": [text("No escalation while snoozed; new events still count.", isSubtle=True)],
                     "actions": [execute("1 hour", Verb.ALERT_SNOOZE, _data(thread, hours=1)),
                                 execute("24 hours", Verb.ALERT_SNOOZE, _data(thread, hours=24))]},
        })
    return card(body, actions or None)
