"""handbook: search the team's handbook from personal chat, for when the triage card suggests nothing."""

from __future__ import annotations

from ..domain.messages import Reply, Text
from .router import CommandRequest, Scope, router

RESULTS = 5
ANSWER_CHARS = 600
USAGE = "handbook <words> (German or English), e.g. `handbook Lieferadresse ändern`"


@router.command("handbook", usage="handbook <words>", summary="search the handbook (German or English)",
                scopes=frozenset({Scope.PERSONAL}))
async def handbook(request: CommandRequest) -> list[Reply]:
    """The entries that match the words, with their answers; with no words, what the handbook holds."""
    book = request.services.handbook
    words = request.args.strip()
    if not words:
        entries = sorted(await book.entries(), key=lambda e: (-e.uses, e.title.lower()))
        if not entries:
            return [Text("The handbook is empty. Import the wiki's with `python -m bot handbook import FILE.md`, "
                         "or use **Add to handbook** on a resolved request.")]
        top = "\n".join(f"- **{e.title}** (used {e.uses}×)" for e in entries[:RESULTS])
        return [Text(f"The handbook has {len(entries)} entries. Most used:\n\n{top}\n\nSearch it: {USAGE}.")]
    found = await book.suggest(words, limit=RESULTS)
    if not found:
        return [Text(f"Nothing in the handbook matches “{words[:100]}”. When you have solved it, **Add to handbook** "
                     "on the request's card keeps the answer for next time.")]
    parts = []
    for _, entry in found:
        answer = entry.answer()
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS].rstrip() + "…"
        parts.append(f"**{entry.title}** (used {entry.uses}×)\n\n{answer}")
    return [Text("\n\n---\n\n".join(parts))]
