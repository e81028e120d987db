"""The demo data for local runs: the Playground's users as a roster, and a current rotation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..domain.iteration import IterationPolicy
from ..domain.rotation import RotationWeek
from .ports import MemberRepository, WeekRepository
from .roster import import_roster
from .roster_file import RosterDocument, parse_roster

# Who serves in the demo, by e-mail in the demo roster file: the current pair with a Friday fallback and a
# new member observing. The next iteration is left open, so a newcomer can try the pick card.
CURRENT = {"pair": ("dora.dev@liefery.example", "paula.prod@liefery.example"),
           "fallback": "fritz.fallback@liefery.example", "fallback_days": frozenset({4}),
           "observer": "nico.new@liefery.example"}


async def seed_demo(
    roster_yaml: str, now: datetime, tz: ZoneInfo, policy: IterationPolicy,
    members: MemberRepository, weeks: WeekRepository,
) -> str:
    """Import the demo roster and this iteration's team, only when both tables are empty."""
    if await members.list() or await weeks.list():
        return "demo data skipped: the tables already hold a roster"
    document = parse_roster(roster_yaml, policy)
    ids = {m.email: m.aad_object_id for m in document.members}
    current = policy.at(now, tz)

    def week(start, spec: dict) -> RotationWeek:
        return RotationWeek(
            start=start,
            pair=tuple(ids[e] for e in spec["pair"]),
            fallback=ids.get(spec.get("fallback", "")),
            fallback_days=spec.get("fallback_days", frozenset()),
            observer=ids.get(spec.get("observer", "")),
            length_days=policy.length_days,
        )

    seeded = RosterDocument(document.members, [week(current.start, CURRENT)])
    report = await import_roster(seeded, members, weeks)
    return f"demo data seeded: {report.summary()}"
