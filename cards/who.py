"""The "who is on support?" card."""

from __future__ import annotations

from bot.domain.iteration import format_day
from bot.domain.members import weekday_names
from bot.domain.rotation import RotationWeek
from bot.services.support import SupportStatus

from .common import card, execute, facts, heading, text
from .verbs import Verb


def _person(status: SupportStatus, person: str) -> str:
    member = status.members.get(person)
    if member is None:
        return f"{person} (no longer on the roster)"
    return f"{member.display_name} ({'production access' if member.production_access else 'no production access'})"


def _team_facts(status: SupportStatus, week: RotationWeek) -> list[tuple[str, str]]:
    pairs = [("Pair", " · ".join(_person(status, p) for p in week.pair))]
    if week.fallback:
        days = ", ".join(d.capitalize() for d in weekday_names(week.fallback_days)) or "on call"
        pairs.append(("Fallback", f"{status.name(week.fallback)} ({days})"))
    if week.observer:
        pairs.append(("Observer", status.name(week.observer)))
    return pairs


def who_card(status: SupportStatus) -> dict:
    """This iteration's team, today's duty and the next team, with a refresh button."""
    body: list[dict] = [heading("Who is on support"), text(status.iteration.label(), isSubtle=True, spacing="None")]
    if status.week:
        body.append(facts(_team_facts(status, status.week)))
        if status.today:
            on_duty = ", ".join(status.name(p) for p in status.today.on_duty) or "nobody"
            line = f"Today ({format_day(status.today.day)}): {on_duty}"
            if status.today.absent:
                line += f"; off today: {', '.join(status.name(p) for p in status.today.absent)}"
            body.append(text(line))
    else:
        leads = ", ".join(m.display_name for m in status.leads()) or "a lead"
        body.append(text(f"Nobody is set for this iteration. Ask {leads} to pick a pair.", color="Attention"))
    body.append(text(f"Next: {status.next_iteration.label()}", weight="Bolder", spacing="Medium"))
    if status.next_week:
        body.append(facts(_team_facts(status, status.next_week)))
    else:
        body.append(text("Not picked yet.", isSubtle=True))
    return card(body, [execute("Refresh", Verb.REFRESH_WHO)])
