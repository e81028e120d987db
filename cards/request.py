"""The triage card of a #backend request: claim, one button per outcome, and the record of what happened."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.matching import keywords
from bot.domain.requests import DbDecision, Outcome, SupportRequest, TicketState
from bot.domain.text import format_clock, format_day, format_when, shorten
from bot.domain.catalogue import Catalogue

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb

MAX_REQUEST_TEXT = 1500


def _clock(when: datetime, tz: ZoneInfo) -> str:
    return format_clock(when, tz)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _data(request: SupportRequest, **extra) -> dict:
    # The revision lets the handler spot clicks on an outdated card.
    return {"request": request.id, "rev": request.revision, **extra}


def _input(id_: str, label: str, value: str = "", multiline: bool = False, required: bool = False, placeholder: str = "") -> dict:
    element = {"type": "Input.Text", "id": id_, "label": label, "isMultiline": multiline, "isRequired": required}
    if value:
        element["value"] = value
    if placeholder:
        element["placeholder"] = placeholder
    if required:
        element["errorMessage"] = f"{label} is required"
    return element


def _choices(id_: str, label: str, options: list[tuple[str, str]], value: str = "", required: bool = False) -> dict:
    element = {
        "type": "Input.ChoiceSet", "id": id_, "label": label, "style": "compact", "isRequired": required,
        "choices": [{"title": title, "value": val} for title, val in options],
    }
    if value:
        element["value"] = value
    if required:
        element["errorMessage"] = f"{label} is required"
    return element


def _form(request: SupportRequest, outcome: Outcome, body: list[dict], submit: str) -> dict:
    return {
        "type": "Action.ShowCard",
        "title": outcome.label,
        "card": {
            "type": "AdaptiveCard",
            "body": body,
            "actions": [execute(submit, Verb.TRIAGE, _data(request, outcome=outcome.value))],
        },
    }


def _bug_form(request: SupportRequest, tz: ZoneInfo, thread_link: str) -> list[dict]:
    summary = shorten(request.text, 120)
    description = (
        f"Reported by {request.requester.name} in #backend at "
        f"{request.received_at.astimezone(tz):%Y-%m-%d %H:%M %Z}.\nThread: {thread_link}\n\n{request.text[:3000]}"
    )
    return [_input("bug_summary", "Summary", summary, required=True), _input("bug_description", "Description", description, multiline=True)]


def _db_form() -> list[dict]:
    answers = [("Yes", "yes"), ("No", "no"), ("Don't know", "unknown")]
    levels = [("Low", "low"), ("Medium", "medium"), ("High", "high")]
    return [
        text("The default is to refuse. Restarting or recreating is preferred; the bot never touches a database.", isSubtle=True),
        _input("db_data", "What data would change?", required=True),
        _input("db_rows", "How many rows?", required=True, placeholder="e.g. 1, ~200"),
        _choices("db_reversible", "Is it reversible?", answers, "unknown"),
        _choices("db_restartable", "Could it be restarted or recreated instead?", answers, "unknown"),
        _choices("db_difficulty", "Difficulty", levels, "high"),
        _choices("db_risk", "Risk", levels, "high"),
        _input("db_reasons", "Reasons", multiline=True),
        _choices("db_decision", "Decision", [("Refuse (suggest restart/recreate)", "refuse"), ("Approve: needs a second person with production access", "approve")], "refuse"),
    ]


def _indexed(titles: list[str]) -> list[tuple[str, str]]:
    # Choices carry the catalogue index; the handler maps it back and refuses indexes that vanished.
    return [(title, str(i)) for i, title in enumerate(titles)]


def _outcome_actions(request: SupportRequest, catalogue: Catalogue, tz: ZoneInfo, thread_link: str) -> list[dict]:
    return [
        _form(request, Outcome.BUG, _bug_form(request, tz, thread_link), f"File in {catalogue.jira_project}"),
        _form(request, Outcome.EXCEPTION, [_input("exception_cause", "Cause", multiline=True, required=True)], "Post the cause"),
        _form(request, Outcome.QUESTION, [_input("question_answer", "Answer", multiline=True, required=True)], "Post the answer"),
        _form(request, Outcome.TRAINING, [_input("training_note", "Note for the trainers", multiline=True)], "Tell the trainers"),
        _form(request, Outcome.DOCUMENTED, [_choices("docs_choice", "Docs page", _indexed([d.title for d in catalogue.docs])), _input("docs_link", "…or paste a link", placeholder="https://")], "Post the link"),
        _form(request, Outcome.NOT_OURS, [_choices("owner_choice", "Owning team", _indexed([o.name for o in catalogue.owners])), _input("owner_other", "…or type one")], "Redirect"),
        _form(request, Outcome.SELF_SERVICE, [text(catalogue.self_service or "The configured how-to is posted.", isSubtle=True)], "Post the how-to"),
        _form(request, Outcome.ADMIN_PANEL, [_choices("admin_choice", "Admin page", _indexed([p.title for p in catalogue.admin_pages]), required=True)], "Post the page"),
        _form(request, Outcome.DB_OVERRIDE, _db_form(), "Record the decision"),
    ]


def _status_lines(request: SupportRequest, tz: ZoneInfo) -> list[dict]:
    lines = []
    if request.claimed_by:
        lines.append(text(f"🙋 {request.claimed_by.name} is on it (since {_clock(request.claimed_at, tz)})", weight="Bolder"))
    if request.response_seconds is not None:
        lines.append(text(f"First response after {_minutes(request.response_seconds)} by {request.first_response_by.name}"))
    elif request.escalations:
        lines.append(text(f"No response yet: escalated {'to the leads' if request.escalations > 1 else 'to the pair again'}", color="Attention"))
    if request.outcome:
        lines.append(text(f"Outcome: **{request.outcome.label}** by {request.outcome_by.name} at {_clock(request.outcome_at, tz)}"))
        lines.extend(_outcome_lines(request))
    if request.resolved_at:
        lines.append(text(f"✅ Resolved at {_clock(request.resolved_at, tz)}", color="Good"))
    return lines


def _outcome_lines(request: SupportRequest) -> list[dict]:
    if request.outcome is Outcome.BUG:
        state = {
            TicketState.PENDING: "🎫 Ticket pending: Jira will be retried until it answers",
            TicketState.CREATED: f"🎫 [{request.ticket_key}]({request.ticket_url})",
            TicketState.FAILED: f"🎫 Jira refused the ticket: {request.detail.get('ticket_error', '')}",
            TicketState.NONE: "🎫 No ticket (Jira is not configured)",
        }[request.ticket]
        return [text(state, color="Attention" if request.ticket is TicketState.FAILED else "Default")]
    if request.outcome is Outcome.DB_OVERRIDE:
        d = request.detail
        decision = DbDecision(d.get("decision", "refused"))
        pairs = [("Data", d.get("data", "")), ("Rows", d.get("rows", "")), ("Reversible", d.get("reversible", "")),
                 ("Restart/recreate", d.get("restartable", "")), ("Difficulty", d.get("difficulty", "")),
                 ("Risk", d.get("risk", "")), ("Decision", decision.value.replace("_", " "))]
        if d.get("confirmed_by_name"):
            pairs.append(("Confirmed by", d["confirmed_by_name"]))
        return [facts(pairs)]
    return []


def _suggestions(request: SupportRequest) -> list[dict]:
    """Handbook entries that match, each with a one-click answer."""
    found = request.extra.get("suggestions") or []
    if not found or request.outcome is not None:
        return []
    items = [text("📘 **From the handbook**", spacing="Medium", separator=True)]
    for entry in found:
        items.append(text(f"**{entry['title']}**"))
        if entry.get("preview"):
            items.append(text(entry["preview"], isSubtle=True, size="Small", maxLines=3, spacing="None"))
        items.append({"type": "ActionSet", "actions": [execute("Send this answer", Verb.SEND_ANSWER, _data(request, entry=entry["id"]))]})
    return items


def _recurring(request: SupportRequest, tz: ZoneInfo) -> list[dict]:
    """"This came up N times since …": earlier requests like this one, when no handbook entry matched."""
    seen = request.extra.get("recurring")
    if not seen or request.extra.get("handbook_entry"):
        return []
    since = datetime.fromisoformat(seen["since"]).astimezone(tz)
    examples = "; ".join(f"“{e}”" for e in seen.get("examples", []))
    return [text(f"🔁 This came up {seen['count']} times since {format_day(since.date())}: {examples}", color="Warning",
                 spacing="Medium", separator=True),
            text("No handbook entry covers it yet: add one so the next person gets the answer in one click.", isSubtle=True, spacing="None")]


MAX_ENTRY_CHOICES = 150  # the most used; a card must stay under Teams' 28 KB


def _existing_choice(entries: list[tuple[str, str]]) -> list[dict]:
    if not entries:
        return []
    choice = _choices("hb_existing", "…or is it in the handbook already? Pick the entry, and the keywords above are added to it",
                      [(title, entry_id) for entry_id, title in entries[:MAX_ENTRY_CHOICES]])
    choice["style"] = "filtered"
    return [choice]


def _handbook_form(request: SupportRequest, entries: list[tuple[str, str]]) -> dict:
    """Add to handbook: a form pre-filled from the request and its answer, or a link to an entry that missed it."""
    title = shorten(request.text, 80)
    links = request.detail.get("url", "") if request.detail.get("url", "").startswith("http") else ""
    body = [
        _input("hb_title", "Title", title, required=True),
        _input("hb_keywords", "Keywords (comma-separated, German and English)", ", ".join(keywords(request.text))),
        # Not required here: linking to an existing entry needs no solution; a new entry is checked by the bot.
        _input("hb_solution", "Solution", request.answer_given(), multiline=True),
        _input("hb_links", "Links (space-separated)", links, placeholder="https://"),
        *_existing_choice(entries),
    ]
    return {
        "type": "Action.ShowCard",
        "title": "📘 Add to handbook",
        "card": {"type": "AdaptiveCard", "body": body,
                 "actions": [execute("Save to handbook", Verb.HANDBOOK_ADD, _data(request))]},
    }


def _handbook_lines(request: SupportRequest, tz: ZoneInfo) -> list[dict]:
    lines = []
    asked = request.extra.get("asked")
    if asked:
        lines.append(text(f"🗣 {asked['name']} asked the team at {_clock(datetime.fromisoformat(asked['at']), tz)}", isSubtle=True))
    added = request.extra.get("handbook_entry")
    if added and added.get("linked"):
        lines.append(text(f"📘 Linked to the handbook entry “{added['title']}” by {added['by']}", color="Good"))
    elif added:
        lines.append(text(f"📘 In the handbook as “{added['title']}” (added by {added['by']})", color="Good"))
    used = request.detail.get("handbook_entry") if request.outcome else None
    if used:
        lines.append(text(f"📘 Answered from the handbook: “{request.detail.get('title', used)}”", isSubtle=True))
    return lines


def _in_sets(actions: list[dict], size: int = 5) -> list[dict]:
    # Teams shows at most five or six buttons in a row; more are cut off.
    return [{"type": "ActionSet", "actions": actions[i:i + size]} for i in range(0, len(actions), size)]


def _incident(request: SupportRequest, tz: ZoneInfo, links: dict[str, str]) -> list[dict]:
    """The incident: the grouped requests with links and a way out for each; or the request it is grouped with;
    or open requests that may be the same problem, to group with one click."""
    items: list[dict] = []
    if request.incident:
        items.append(text(f"🔗 Grouped with [an earlier request about the same problem]({links.get(request.incident, '')}): "
                          "its answer comes here too.", isSubtle=True, spacing="Medium"))
    grouped = request.grouped()
    if grouped:
        waiting = sum(1 for g in grouped if not g.get("sent"))
        items.append(text(f"🔗 **Incident**: {len(grouped)} more request{'s' if len(grouped) != 1 else ''} about this "
                          f"({waiting} still waiting for the answer)", spacing="Medium", separator=True))
        for g in grouped:
            when = format_clock(datetime.fromisoformat(g["at"]), tz)
            state = " · answered" if g.get("sent") else ""
            items.append({"type": "ColumnSet", "columns": [
                {"type": "Column", "width": "stretch", "items": [text(f"[{g['name']}, {when}]({links.get(g['id'], '')}): "
                                                                       f"{g.get('text', '')}{state}", size="Small")]},
                {"type": "Column", "width": "auto", "items": [{"type": "ActionSet", "actions": [
                    execute("Not the same problem", Verb.INCIDENT_SPLIT, _data(request, child=g["id"]))]}]},
            ]})
        if request.outcome is not None and waiting:
            items.append({"type": "ActionSet", "actions": [execute(
                f"📣 Send this outcome to the {waiting} other{'s' if waiting != 1 else ''}", Verb.INCIDENT_SEND_ALL,
                _data(request), style="positive")]})
    alike = request.extra.get("alike") or []
    if alike and not request.incident and not grouped and request.outcome is None:
        items.append(text("🔗 Maybe the same problem as:", spacing="Medium", separator=True))
        for a in alike:
            when = format_clock(datetime.fromisoformat(a["at"]), tz)
            items.append(text(f"[{a['name']}, {when}]({links.get(a['id'], '')}): {a['text']}", size="Small", spacing="None"))
            items.append({"type": "ActionSet", "actions": [execute(f"Same problem as {a['name']}'s", Verb.INCIDENT_SAME_AS,
                                                                   _data(request, root=a["id"]))]})
    return items


def request_card(request: SupportRequest, catalogue: Catalogue, tz: ZoneInfo, thread_link: str,
                 entries: list[tuple[str, str]] = (), links: dict[str, str] | None = None, notice: str = "") -> dict:
    """The triage card: the request, the requester, its age, what the handbook says, and what can be done next.

    `notice` tells the one person whose click changed nothing why (the card they answered was out of date).
    """
    received = request.received_at.astimezone(tz)
    body = [
        *([text(f"⚠️ {notice}", weight="Bolder", color="Attention")] if notice else []),
        heading("Support request"),
        text(f"{request.requester.name} · received {format_when(received, tz)} · target {_clock(request.target_at, tz)}", isSubtle=True, spacing="None"),
        text(request.text if len(request.text) <= MAX_REQUEST_TEXT else shorten(request.text, MAX_REQUEST_TEXT), spacing="Medium"),
        *_status_lines(request, tz),
        *_handbook_lines(request, tz),
        *_suggestions(request),
        *_recurring(request, tz),
        *_incident(request, tz, links or {}),
    ]
    actions: list[dict] = []
    # Answered from the handbook, or already added or linked: there is nothing to add.
    answered_from_handbook = bool(request.outcome and request.detail.get("handbook_entry"))
    may_add = (not request.extra.get("handbook_entry") and not answered_from_handbook
               and (request.resolved_at is not None or bool(request.extra.get("recurring"))))
    if request.outcome is None:
        outcome_actions = _outcome_actions(request, catalogue, tz, thread_link)
        claim = [] if request.claimed_by else [execute("🙋 I'm on it", Verb.CLAIM, _data(request), style="positive")]
        ask = [] if request.extra.get("asked") else [execute("🗣 Ask the team", Verb.ASK_TEAM, _data(request))]
        extra = [_handbook_form(request, list(entries))] if may_add else []
        body.extend(_in_sets(claim + ask + outcome_actions + extra))
    elif request.outcome is Outcome.DB_OVERRIDE and request.detail.get("decision") == DbDecision.AWAITING_SECOND.value:
        actions = [
            execute("Confirm approval (production access)", Verb.DB_CONFIRM, _data(request), style="destructive"),
            execute("Refuse", Verb.DB_REFUSE, _data(request)),
        ]
    elif may_add:
        actions = [_handbook_form(request, list(entries))]
    return card(body, actions or None)
