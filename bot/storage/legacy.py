"""Rows and job payloads written in earlier shapes, read into today's.

Addresses used to be stored as four Bot Framework fields (service URL, conversation id, tenant, channel) and
installs as whole ConversationReference objects; requests and alerts kept only how many escalation levels were
sent. A deployment keeps such rows, so storage converts them on read.
"""

from __future__ import annotations

from ..domain.address import Address
from ..web.references import from_conversation_reference, from_legacy


def address(raw) -> Address | None:
    """An address stored in any format: Address.to_json() text, its list, the old four fields, or a reference."""
    if not raw:
        return None
    if isinstance(raw, str):
        import json

        raw = json.loads(raw)
    if isinstance(raw, dict):
        if "ref" in raw:
            return Address(raw["ref"], raw.get("place", ""), raw.get("thread", ""))
        if "conversation" in raw:
            return from_conversation_reference(raw)
        return from_legacy(raw.get("serviceUrl", ""), raw.get("conversationId", ""), raw.get("tenantId", ""),
                           raw.get("channelId", ""))
    if len(raw) == 3:
        return Address(*raw)
    return from_legacy(*(list(raw) + ["", "", "", ""])[:4])


def job_payload(payload: dict) -> dict:
    """A job's payload with any old-format address in it converted (paging, 1:1 and post jobs)."""
    opening = payload.get("opening")
    if isinstance(opening, dict) and isinstance(opening.get("address"), list) and len(opening["address"]) == 4:
        payload = {**payload, "opening": {**opening, "address": address(opening["address"]).to_json()}}
    via = payload.get("via")
    if isinstance(via, list) and len(via) == 2:
        payload = {**payload, "via": address([via[0], "", via[1], ""]).to_json()}
    return payload


def escalated_levels(entity: dict) -> frozenset[int]:
    """The escalation levels a request or alert row says were sent: its EscalatedLevels ("1,2"), or, for a row
    written before those were kept, levels 1 to its Escalations count (escalations then went out in order)."""
    levels = entity.get("EscalatedLevels")
    if levels is not None:
        return frozenset(int(level) for level in str(levels).split(",") if level.strip())
    return frozenset(range(1, int(entity.get("Escalations", 0)) + 1))


def levels_column(levels: frozenset[int]) -> str:
    """Escalation levels as their column's text."""
    return ",".join(str(level) for level in sorted(levels))
