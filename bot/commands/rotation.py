"""Rotation commands in personal chat (me, away, absences, roster, history, swap, member), pick, and the pick card."""

from __future__ import annotations

from datetime import date, timedelta

from cards.verbs import Verb

from ..domain.dates import parse_range
from ..domain.errors import DomainError
from ..domain.members import weekday_names
from ..domain.messages import Reply, Text
from ..domain.text import format_day, format_span, format_when, join_names
from ..domain.policy import Action
from ..services.channels import require_lead
from .actions import ActionRequest, ActionResult, actions, card_field, card_revision, from_outcome
from .requests import person
from .router import CommandRequest, Scope, router

PERSONAL = frozenset({Scope.PERSONAL})
UPCOMING_WEEKS = 12


def _today(request: CommandRequest) -> date:
    return request.now.astimezone(request.services.settings.tz).date()


@router.command("me", summary="my coming duties, my observer week and my absences", scopes=PERSONAL)
async def me(request: CommandRequest) -> list[Reply]:
    """What is coming up for me."""
    s = request.services
    mine = request.caller.aad_object_id
    stored = await s.members.get(mine)
    if stored is None:
        return [Text("You are not on the roster. Ask a lead to add you.")]
    today = _today(request)
    start = s.policy.containing(today).start
    weeks = [w.value for w in await s.weeks.between(start, start + timedelta(days=7 * UPCOMING_WEEKS))]
    lines = []
    for week in weeks:
        role = "pair" if mine in week.pair else "fallback (" + ", ".join(weekday_names(week.fallback_days)) + ")" if mine == week.fallback else "observer" if mine == week.observer else ""
        if role:
            lines.append(f"- {week.iteration.label()}: {role}")
        lines.extend(f"- {format_day(c.day)}: standing in for a colleague (swap)" for c in week.covers if c.person == mine)
    member = stored.value
    observer = "done" if member.observer_done or any(w.observer == mine for w in weeks) else "not yet: you may shadow one week before serving"
    absences = [a for a in await s.absences.of(mine) if a.last >= today]
    text = "**Your coming duties**\n\n" + ("\n".join(lines) if lines else "none planned yet")
    text += f"\n\n**Observer week:** {observer}"
    text += "\n\n**Your absences:** " + (", ".join(format_span(a.first, a.last) + (" (Outlook)" if a.source == "outlook" else "") for a in absences) or "none")
    return [Text(text)]


@router.command("away", usage="away 24.12.–2.1. | away 2026-12-24 2027-01-02 | away friday",
                summary="record my absence", scopes=PERSONAL)
async def away(request: CommandRequest) -> list[Reply]:
    """Record an absence of my own; it may warn the team if it breaks a confirmed week."""
    if not request.args.strip():
        return [Text("When are you away? For example `away friday`, `away 24.12.–2.1.` or `away 2026-12-24 2027-01-02`.")]
    first, last = parse_range(request.args, _today(request))
    lines = await request.services.rotation.add_absence(person(request.caller), first, last)
    return [Text("\n\n".join(lines))]


@router.command("absences", summary="my coming absences and the team's", scopes=PERSONAL)
async def absences(request: CommandRequest) -> list[Reply]:
    """Everyone's absences in the coming weeks."""
    s = request.services
    today = _today(request)
    found = await s.absences.overlapping(today, today + timedelta(days=7 * UPCOMING_WEEKS))
    roster = {m.value.aad_object_id: m.value.display_name for m in await s.members.list()}
    if not found:
        return [Text("Nobody has recorded an absence for the coming weeks.")]
    lines = [f"- {roster.get(a.person, a.person)}: {format_span(a.first, a.last)}" + (" (Outlook)" if a.source == "outlook" else "") for a in found]
    return [Text("**Absences in the coming weeks**\n\n" + "\n".join(lines))]


@router.command("roster", summary="who is on the roster", scopes=PERSONAL)
async def roster(request: CommandRequest) -> list[Reply]:
    """The roster with production access, working days and role."""
    members = [m.value for m in await request.services.members.list()]
    if not members:
        return [Text("The roster is empty. A lead can import one with `python -m bot roster import`.")]
    lines = [
        f"- {m.display_name}{' 🔑' if m.production_access else ''}{' (lead)' if m.is_lead else ''}"
        f" · {', '.join(weekday_names(m.working_weekdays))}{'' if m.active else ' · inactive'}"
        for m in members
    ]
    return [Text("**Roster** (🔑 production access)\n\n" + "\n".join(lines))]


@router.command("history", summary="recent teams and changes", scopes=PERSONAL)
async def history(request: CommandRequest) -> list[Reply]:
    """The last iterations' teams and the latest audited changes."""
    s = request.services
    today = _today(request)
    roster = {m.value.aad_object_id: m.value.display_name for m in await s.members.list()}
    weeks = [w.value for w in await s.weeks.between(today - timedelta(days=7 * 8), today)]
    lines = [f"- {w.iteration.label()}: {join_names(roster.get(p, p) for p in w.pair)}" for w in reversed(weeks)]
    months = [today.strftime("%Y-%m"), (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")]
    changes = await s.audit.recent(months, limit=10)
    change_lines = [f"- {format_when(c.at, s.settings.tz)} {c.who} {c.what}" for c in changes]
    return [Text("**Recent teams**\n\n" + ("\n".join(lines) or "none") + "\n\n**Recent changes**\n\n" + ("\n".join(change_lines) or "none"))]


@router.command("pick", summary="post the card to pick the next iteration's pair, here (people on the roster)")
async def pick(request: CommandRequest) -> list[Reply]:
    """Propose the next pair now instead of waiting for Monday 17:00."""
    if request.address is None:
        return [Text("I can't post a card here.")]
    await request.services.rotation.pick_now(request.address, person(request.caller))
    return []


@router.command("sync", usage="sync roster", summary="update the roster from the team's members (leads)",
                forms=(r"sync roster",))
async def sync(request: CommandRequest) -> list[Reply]:
    """A lead refreshes the roster from Microsoft 365: newcomers appear, leavers become inactive."""
    s = request.services
    await require_lead(s.members, person(request.caller), Action.SYNC_ROSTER)
    if s.directory is None:
        return [Text("Microsoft 365 is not connected here (TEAM_GROUP_ID is not set).")]
    report = await s.directory.roster()
    parts = [f"added {', '.join(report.added) or 'nobody'}", f"marked inactive {', '.join(report.deactivated) or 'nobody'}"]
    if report.reactivated:
        parts.append(f"back again {', '.join(report.reactivated)}")
    text = "Roster synced: " + "; ".join(parts) + "."
    if report.warnings:
        text += "\n\n" + "\n".join(f"⚠️ {w}" for w in report.warnings)
    return [Text(text)]


def _start(data: dict) -> date:
    try:
        return date.fromisoformat(str(data.get("start")))
    except ValueError:
        raise DomainError("This card is out of date.") from None


@actions.verb(Verb.PLAN_CONFIRM)
async def confirm(request: ActionRequest) -> ActionResult:
    """Confirm the team on the pick card."""
    desk = request.services.rotation
    return from_outcome(await desk.confirm(_start(request.data), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.PLAN_ANOTHER)
async def another(request: ActionRequest) -> ActionResult:
    """Show the next-best suggestion."""
    desk = request.services.rotation
    return from_outcome(await desk.another(_start(request.data), card_revision(request.data), person(request.caller)))


@actions.verb(Verb.PLAN_EDIT)
async def edit(request: ActionRequest) -> ActionResult:
    """Save a team chosen by hand, if it passes the rules."""
    desk = request.services.rotation
    return from_outcome(await desk.edit(_start(request.data), card_revision(request.data), person(request.caller), request.data))


@router.command("swap", usage="swap 2026-12-09 with Paula | swap day friday with Paula",
                summary="ask someone to take over my iteration (or one day)", scopes=PERSONAL)
async def swap(request: CommandRequest) -> list[Reply]:
    """Ask someone to swap; they get a card to accept or decline."""
    text = request.args.strip()
    whole = not text.lower().startswith("day ")
    text = text[4:] if not whole else text
    when, sep, other = text.partition(" with ")
    if not sep or not other.strip():
        return [Text("Write `swap <date> with <name>` for an iteration, or `swap day <date> with <name>` for one day.")]
    first, _ = parse_range(when, _today(request))
    via = request.address
    return [Text(await request.services.people.ask_swap(person(request.caller), first, whole, other, via))]


@actions.verb(Verb.SWAP_ACCEPT)
async def swap_accept(request: ActionRequest) -> ActionResult:
    """The other person accepts; the stored offer is checked against the rules first."""
    swap_id = card_field(request.data, "swap")
    return from_outcome(await request.services.people.answer_swap(swap_id, person(request.caller), True, request.address))


@actions.verb(Verb.SWAP_DECLINE)
async def swap_decline(request: ActionRequest) -> ActionResult:
    """The other person declines."""
    swap_id = card_field(request.data, "swap")
    return from_outcome(await request.services.people.answer_swap(swap_id, person(request.caller), False, request.address))


@router.command("member", usage="member <name>", summary="edit a member's production access, days and role (leads)",
                scopes=PERSONAL)
async def member(request: CommandRequest) -> list[Reply]:
    """A lead opens the editor card of one member."""
    if not request.args.strip():
        return [Text("Write `member <name>`.")]
    return [await request.services.people.member_editor(person(request.caller), request.args)]


@actions.verb(Verb.MEMBER_EDIT)
async def member_edit(request: ActionRequest) -> ActionResult:
    """Save a lead's edit of a member."""
    return from_outcome(await request.services.people.edit_member(person(request.caller), request.data))
