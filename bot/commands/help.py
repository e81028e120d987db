"""help: the commands available where the user is."""

from __future__ import annotations

from ..domain.messages import Reply, Text
from .router import CommandRequest, Scope, router


def unknown_hint(scope: Scope) -> Text:
    """The short answer to a message no command matches."""
    where = "Write" if scope is Scope.PERSONAL else "@mention me with"
    return Text(f"Sorry, I didn't get that. {where} **help** to see what I can do.")


@router.command("help", summary="this list", patterns=(r"^(hilfe|commands|befehle|\?)$",),
                forms=(r"help", r"hilfe", r"commands", r"befehle", r"\?", r"what can you do", r"was kannst du"))
async def help_command(request: CommandRequest) -> list[Reply]:
    """List the commands of the request's scope."""
    lines = [f"- **{c.usage}**: {c.summary}" for c in router.commands(request.scope)]
    return [Text("Here is what I can do:\n\n" + "\n".join(lines))]
