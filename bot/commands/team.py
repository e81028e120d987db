"""What people ask about the team in personal chat: me, absences, roster, history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..core.events import Content, Scope, Text
from ..core.routing import CommandRequest, CommandRouter
from ..domain.iteration import IterationPolicy
from ..domain.members import weekday_names
from ..domain.text import format_day, format_span, format_when, join_names
from ..services.ports import AbsenceRepository, MemberRepository, WeekRepository

PERSONAL = frozenset({Scope.PERSONAL})
UPCOMING_WEEKS = 12


class TeamQueries:
    """Read-only answers about duties, absences, the roster and recent changes."""

    def __init__(self, *, members: MemberRepository, weeks: WeekRepository, absences: AbsenceRepository, audit,
                 policy: IterationPolicy, tz: ZoneInfo) -> None:
        self._members = members
        self._weeks = weeks
        self._absences = absences
        self._audit = audit
        self._policy = policy
        self._tz = tz

    def _today(self, now: datetime) -> date:
        return now.astimezone(self._tz).date()

    async def _names(self) -> dict[str, str]:
        return {m.value.aad_object_id: m.value.display_name for m in await self._members.list()}

    async def me(self, request: CommandRequest) -> list[Content]:
        """What is coming up for me."""
        mine = request.caller.aad_object_id
        stored = await self._members.get(mine)
        if stored is None:
            return [Text("You are not on the roster. Ask a lead to add you.")]
        today = self._today(request.now)
        start = self._policy.containing(today).start
        weeks = [w.value for w in await self._weeks.between(start, start + timedelta(days=7 * UPCOMING_WEEKS))]
        lines = []
        for week in weeks:
            role = ("pair" if mine in week.pair
                    else "fallback (" + ", ".join(weekday_names(week.fallback_days)) + ")" if mine == week.fallback
                    else "observer" if mine == week.observer else "")
            if role:
                lines.append(f"- {week.iteration.label()}: {role}")
            lines.extend(f"- {format_day(c.day)}: standing in for a colleague (swap)" for c in week.covers if c.person == mine)
        member = stored.value
        observer = ("done" if member.observer_done or any(w.observer == mine for w in weeks)
                    else "not yet: you may shadow one week before serving")
        absences = [a for a in await self._absences.of(mine) if a.last >= today]
        text = "**Your coming duties**\n\n" + ("\n".join(lines) if lines else "none planned yet")
        text += f"\n\n**Observer week:** {observer}"
        text += "\n\n**Your absences:** " + (", ".join(format_span(a.first, a.last) + (" (Outlook)" if a.source == "outlook" else "")
                                                      for a in absences) or "none")
        return [Text(text)]

    async def absences(self, request: CommandRequest) -> list[Content]:
        """Everyone's absences in the coming weeks."""
        today = self._today(request.now)
        found = await self._absences.overlapping(today, today + timedelta(days=7 * UPCOMING_WEEKS))
        if not found:
            return [Text("Nobody has recorded an absence for the coming weeks.")]
        names = await self._names()
        lines = [f"- {names.get(a.person, a.person)}: {format_span(a.first, a.last)}"
                 + (" (Outlook)" if a.source == "outlook" else "") for a in found]
        return [Text("**Absences in the coming weeks**\n\n" + "\n".join(lines))]

    async def roster(self, request: CommandRequest) -> list[Content]:
        """The roster with production access, working days and role."""
        members = [m.value for m in await self._members.list()]
        if not members:
            return [Text("The roster is empty. A lead can import one with `python -m bot roster import`.")]
        lines = [
            f"- {m.display_name}{' 🔑' if m.production_access else ''}{' (lead)' if m.is_lead else ''}"
            f" · {', '.join(weekday_names(m.working_weekdays))}{'' if m.active else ' · inactive'}"
            for m in members
        ]
        return [Text("**Roster** (🔑 production access)\n\n" + "\n".join(lines))]

    async def history(self, request: CommandRequest) -> list[Content]:
        """The last iterations' teams and the latest audited changes."""
        today = self._today(request.now)
        names = await self._names()
        weeks = [w.value for w in await self._weeks.between(today - timedelta(days=7 * 8), today)]
        lines = [f"- {w.iteration.label()}: {join_names(names.get(p, p) for p in w.pair)}" for w in reversed(weeks)]
        months = [today.strftime("%Y-%m"), (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")]
        changes = await self._audit.recent(months, limit=10)
        change_lines = [f"- {format_when(c.at, self._tz)} {c.who} {c.what}" for c in changes]
        return [Text("**Recent teams**\n\n" + ("\n".join(lines) or "none") + "\n\n**Recent changes**\n\n"
                     + ("\n".join(change_lines) or "none"))]

    def register(self, commands: CommandRouter) -> None:
        """Register me, absences, roster and history (personal chat)."""
        commands.add("me", self.me, summary="my coming duties, my observer week and my absences", scopes=PERSONAL)
        commands.add("absences", self.absences, summary="my coming absences and the team's", scopes=PERSONAL)
        commands.add("roster", self.roster, summary="who is on the roster", scopes=PERSONAL)
        commands.add("history", self.history, summary="recent teams and changes", scopes=PERSONAL)
