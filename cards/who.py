"""The "who is on support?" card."""

from __future__ import annotations

from bot.domain.planning import weekday_span
from bot.domain.rotation import RotationWeek
from bot.domain.status import SupportStatus
from bot.domain.text import format_day, join_names

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb


def _person(status: SupportStatus, person: str) -> str:
    member = status.members.get(person)
    if member is None:
        return f"{person} (no longer on the roster)"
    return f"{member.display_name} ({'production access' if member.production_access else 'no production access'})"


def _team_facts(status: SupportStatus, week: RotationWeek) -> list[tuple[str, str]]:
    pairs = [("Pair", join_names(_person(status, p) for p in week.pair))]
    if week.fallback:
        pairs.append(("Fallback", f"{status.name(week.fallback)} ({weekday_span(week.fallback_days) or 'no days'})"))
    if week.observer:
        pairs.append(("Observer", status.name(week.observer)))
    for cover in week.covers:
        pairs.append(("Day swap", f"{status.name(cover.person)} for {status.name(cover.replaces)} on {format_day(cover.day)}"))
    return pairs


def _today(status: SupportStatus) -> list[dict]:
    """Today's duty exactly as a request would page it: who is on, who is off, and who fills a gap."""
    duty = status.today
    lines = [text(f"Today ({format_day(duty.day)}): {status.names(duty.on_duty) or 'nobody'} on duty"
                  + (f"; off today: {status.names(duty.absent)}" if duty.absent else ""))]
    if duty.gaps:
        extra = [p for p in duty.extra if p not in duty.on_duty]
        also = f" A request also pages {status.names(extra)}." if extra else " Nobody else is free to page."
        lines.append(text(f"⚠️ Today {join_names(duty.gaps)}.{also}", color="Warning", spacing="None"))
    if not duty.working_day:
        lines.append(text("Not a working day: a request pages the pair anyway.", isSubtle=True, spacing="None"))
    return lines


def who_card(status: SupportStatus) -> dict:
    """This iteration's team, today's duty and the next team, with a refresh button."""
    body: list[dict] = [heading("Who is on support"), text(status.iteration.label(), isSubtle=True, spacing="None")]
    if status.week:
        body.append(facts(_team_facts(status, status.week)))
        if status.today:
            body.extend(_today(status))
    else:
        leads = join_names(m.display_name for m in status.leads()) or "a lead"
        body.append(text(f"Nobody is set for this iteration. Ask {leads} to pick a pair; until then requests page the leads.",
                         color="Attention"))
    body.append(text(f"Next: {status.next_iteration.label()}", weight="Bolder", spacing="Medium"))
    if status.next_week:
        body.append(facts(_team_facts(status, status.next_week)))
    else:
        body.append(text("Not picked yet.", isSubtle=True))
    return card(body, [execute("Refresh", Verb.REFRESH_WHO)])
