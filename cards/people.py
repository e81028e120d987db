"""Cards about people: a swap request to accept or decline, and a lead's member editor."""

from __future__ import annotations

from bot.core.views import SwapView
from bot.domain.members import Member

from .common import card, execute, facts, heading, text
from bot.core.verbs import Verb

_DAYS = [("Mon", "0"), ("Tue", "1"), ("Wed", "2"), ("Thu", "3"), ("Fri", "4"), ("Sat", "5"), ("Sun", "6")]


def swap_card(view: SwapView) -> dict:
    """Asks someone to take over a duty; Accept re-checks every rule before anything changes. The card carries
    only the stored offer's id: who gives, who takes and which duty are read from storage on click."""
    if view.closed:
        return card([heading("Swap request"), text(f"{view.asker}'s swap: **{view.what}**: {view.closed}.")])
    data = {"swap": view.swap_id, "rev": view.revision}
    return card(
        [heading("Swap request"), text(f"{view.asker} asks you to take over: **{view.what}**."),
         text("If you accept, I check the rotation rules first; nothing changes unless the team stays valid.", isSubtle=True)],
        [execute("Accept", Verb.SWAP_ACCEPT, data, style="positive"), execute("Decline", Verb.SWAP_DECLINE, data)],
    )


def member_card(member: Member, saved_by: str = "") -> dict:
    """A lead edits one member's production access, working days and role."""
    body = [
        heading(member.display_name),
        facts([("E-mail", member.email), ("Production access", "yes" if member.production_access else "no"),
               ("Working days", ", ".join(t for t, v in _DAYS if int(v) in member.working_weekdays)),
               ("Role", member.role.value), ("Active", "yes" if member.active else "no")]),
    ]
    if saved_by:
        body.append(text(f"✅ Saved by {saved_by}", color="Good"))
    form = {
        "type": "Action.ShowCard", "title": "Edit",
        "card": {"type": "AdaptiveCard", "body": [
            {"type": "Input.Toggle", "id": "member_production", "title": "Production access",
             "label": "Production access", "value": "true" if member.production_access else "false"},
            {"type": "Input.ChoiceSet", "id": "member_days", "label": "Working days", "isMultiSelect": True,
             "style": "expanded", "choices": [{"title": t, "value": v} for t, v in _DAYS],
             "value": ",".join(str(d) for d in sorted(member.working_weekdays)), "isRequired": True,
             "errorMessage": "Pick at least one day"},
            {"type": "Input.ChoiceSet", "id": "member_role", "label": "Role", "style": "compact", "value": member.role.value,
             "choices": [{"title": "member", "value": "member"}, {"title": "lead", "value": "lead"}]},
        ], "actions": [execute("Save", Verb.MEMBER_EDIT, {"member": member.aad_object_id})]},
    }
    return card(body, [form])
