"""The weekly pick card: the suggested team, why, day-by-day coverage, and Confirm / Suggest another / Edit."""

from __future__ import annotations

from bot.core.views import NOBODY
from bot.domain.iteration import Iteration
from bot.domain.members import Member
from bot.domain.planning import DayCoverage, Verdict, long_day, weekday_span
from bot.domain.text import format_day, join_names
from bot.domain.rotation import RotationWeek

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb

_WEEKDAYS = [("Mon", "0"), ("Tue", "1"), ("Wed", "2"), ("Thu", "3"), ("Fri", "4")]


def _name(members: dict[str, Member], person: str | None) -> str:
    return members[person].display_name if person and person in members else (person or "—")


def _edit_form(week: RotationWeek | None, members: dict[str, Member], data: dict) -> dict:
    active = sorted((m for m in members.values() if m.active), key=lambda m: m.display_name)
    people = [{"title": f"{m.display_name}{' (prod)' if m.production_access else ''}", "value": m.aad_object_id} for m in active]
    nobody = [{"title": "— nobody —", "value": NOBODY}]

    def pick(id_: str, label: str, value: str | None, optional: bool) -> dict:
        return {"type": "Input.ChoiceSet", "id": id_, "label": label, "style": "compact", "value": value or (NOBODY if optional else ""),
                "choices": (nobody if optional else []) + people, "isRequired": not optional,
                **({} if optional else {"errorMessage": f"{label} is required"})}

    return {
        "type": "Action.ShowCard", "title": "Edit",
        "card": {"type": "AdaptiveCard", "body": [
            pick("plan_first", "First of the pair", week.pair[0] if week else "", False),
            pick("plan_second", "Second of the pair", week.pair[1] if week else "", False),
            pick("plan_fallback", "Fallback", week.fallback if week else "", True),
            {"type": "Input.ChoiceSet", "id": "plan_fallback_days", "label": "Days the fallback covers", "isMultiSelect": True,
             "style": "expanded", "choices": [{"title": t, "value": v} for t, v in _WEEKDAYS],
             "value": ",".join(str(d) for d in sorted(week.fallback_days)) if week else ""},
            pick("plan_observer", "Observer", week.observer if week else "", True),
        ], "actions": [execute("Check and save", Verb.PLAN_EDIT, data)]},
    }


def _coverage(days: list[DayCoverage]) -> dict:
    rows = []
    for d in days:
        if not d.working_day:
            value = f"day off{f' ({d.holiday})' if d.holiday else ''}"
        else:
            value = ", ".join(d.on_duty) or "nobody"
            value += "" if d.ok else "  ⚠️"
            if d.fallback_covering:
                value += " (fallback)"
        rows.append((long_day(d.day), value))
    return facts(rows)


def superseded_card(iteration: Iteration, link: str) -> dict:
    """What an earlier pick card turns into once the team's card is in the rotation channel."""
    return card([heading("Support pair for the next iteration"), text(iteration.label(), isSubtle=True, spacing="None"),
                 text(f"This card is superseded: pick and confirm on [the card in the rotation channel]({link}).")])


def plan_card(iteration: Iteration, week: RotationWeek | None, members: dict[str, Member], verdict: Verdict,
              days: list[DayCoverage], reasons: dict[str, str], why_none: list[str], revision: int,
              confirmed_by: str = "", warnings_extra: list[str] | None = None, saving: bool = False) -> dict:
    """The pick card for an iteration: a team (suggested or edited) with everything needed to confirm it."""
    data = {"start": iteration.start.isoformat(), "rev": revision}
    body = [heading("Support pair for the next iteration"), text(iteration.label(), isSubtle=True, spacing="None")]
    if week is None:
        body.append(text("No valid team can be suggested:", color="Attention", weight="Bolder"))
        body.extend(text(f"- {line}") for line in why_none)
    else:
        pairs = [("Pair", join_names(_name(members, p) for p in week.pair))]
        if week.fallback:
            pairs.append(("Fallback", f"{_name(members, week.fallback)} ({weekday_span(week.fallback_days) or 'no days'})"))
        for cover in week.covers:
            pairs.append(("Day swap", f"{_name(members, cover.person)} for {_name(members, cover.replaces)} on {format_day(cover.day)}"))
        if week.observer:
            pairs.append(("Observer", _name(members, week.observer)))
        body.append(facts(pairs))
        body.extend(text(f"{_name(members, person)}: {why}", isSubtle=True, spacing="None") for person, why in reasons.items())
        body.append(text("Day by day", weight="Bolder", spacing="Medium"))
        body.append(_coverage(days))
    for error in verdict.errors:
        body.append(text(f"⛔ {error}", color="Attention"))
    for warning in [*verdict.warnings, *(warnings_extra or [])]:
        body.append(text(f"⚠️ {warning}", color="Warning"))
    if confirmed_by and saving:
        body.append(text(f"⏳ Confirmed by {confirmed_by}; saving the team to the rotation…", color="Warning", weight="Bolder"))
        return card(body, [execute("Confirm", Verb.PLAN_CONFIRM, data)])
    if confirmed_by:
        body.append(text(f"✅ Confirmed by {confirmed_by}", color="Good", weight="Bolder"))
        return card(body)
    actions = []
    if week is not None and verdict.valid:
        actions.append(execute("Confirm", Verb.PLAN_CONFIRM, data, style="positive"))
    actions.append(execute("Suggest another", Verb.PLAN_ANOTHER, data))
    actions.append(_edit_form(week, members, data))
    return card(body, actions)
