"""help: the commands available where the user is."""

from __future__ import annotations

from ..core.events import Content, Scope, Text
from ..core.routing import CommandRequest, CommandRouter


def unknown_hint(scope: Scope) -> Text:
    """The short answer to a message no command matches."""
    where = "Write" if scope is Scope.PERSONAL else "@mention me with"
    return Text(f"Sorry, I didn't get that. {where} **help** to see what I can do.")


class Help:
    """`help` lists the commands of the router it is registered on."""

    def __init__(self, commands: CommandRouter) -> None:
        self._commands = commands

    async def help(self, request: CommandRequest) -> list[Content]:
        """List the commands of the request's scope."""
        lines = [f"- **{c.usage}**: {c.summary}" for c in self._commands.commands(request.scope)]
        return [Text("Here is what I can do:\n\n" + "\n".join(lines))]

    def register(self) -> None:
        """Register `help` on its router."""
        self._commands.add("help", self.help, summary="this list", patterns=(r"^(hilfe|commands|befehle|\?)$",),
                           forms=(r"help", r"hilfe", r"commands", r"befehle", r"\?", r"what can you do", r"was kannst du"))
