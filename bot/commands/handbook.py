"""handbook: search the team's handbook from personal chat, for when the triage card suggests nothing."""

from __future__ import annotations

from ..core.events import Content, Scope, Text
from ..core.routing import CommandRequest, CommandRouter
from ..domain.text import shorten
from ..services.handbook import Handbook

RESULTS = 5
ANSWER_CHARS = 600
USAGE = "handbook <words> (German or English), e.g. `handbook Lieferadresse ändern`"


class HandbookSearch:
    """`handbook <words>` over the team's handbook."""

    def __init__(self, handbook: Handbook) -> None:
        self._book = handbook

    async def handbook(self, request: CommandRequest) -> list[Content]:
        """The entries that match the words, with their answers; with no words, what the handbook holds."""
        words = request.args.strip()
        if not words:
            entries = sorted(await self._book.entries(), key=lambda e: (-e.uses, e.title.lower()))
            if not entries:
                return [Text("The handbook is empty. Import the wiki's with `python -m bot handbook import FILE.md`, "
                             "or use **Add to handbook** on a resolved request.")]
            top = "\n".join(f"- **{e.title}** (used {e.uses}×)" for e in entries[:RESULTS])
            return [Text(f"The handbook has {len(entries)} entries. Most used:\n\n{top}\n\nSearch it: {USAGE}.")]
        found = await self._book.suggest(words, limit=RESULTS)
        if not found:
            return [Text(f"Nothing in the handbook matches “{shorten(words, 100)}”. When you have solved it, "
                         "**Add to handbook** on the request's card keeps the answer for next time.")]
        parts = []
        for _, entry in found:
            answer = entry.answer()
            if len(answer) > ANSWER_CHARS:
                answer = shorten(answer, ANSWER_CHARS)
            parts.append(f"**{entry.title}** (used {entry.uses}×)\n\n{answer}")
        return [Text("\n\n---\n\n".join(parts))]

    def register(self, commands: CommandRouter) -> None:
        """Register `handbook` (personal chat)."""
        commands.add("handbook", self.handbook, usage="handbook <words>", summary="search the handbook (German or English)",
                     scopes=frozenset({Scope.PERSONAL}))
