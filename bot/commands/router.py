"""Command routing by registry: each command says its words, patterns and where it applies."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable

from ..domain.messages import Reply

if TYPE_CHECKING:
    from ..bootstrap import Services
    from ..domain.requests import Address


class Scope(str, enum.Enum):
    """Where a message was written."""

    PERSONAL = "personal"
    CHANNEL = "channel"
    GROUP_CHAT = "groupChat"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Caller:
    """The person who wrote."""

    aad_object_id: str
    name: str
    teams_id: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """One command to handle: who asked, where, when, and the text after the command word."""

    caller: Caller
    scope: Scope
    text: str
    args: str
    now: datetime
    services: "Services"
    address: "Address | None" = None


Handler = Callable[[CommandRequest], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """A registered command."""

    name: str
    summary: str
    handler: Handler
    usage: str = ""
    patterns: tuple[re.Pattern, ...] = ()
    scopes: frozenset[Scope] = field(default=ALL_SCOPES)
    # The whole message, normalized, as the command with its documented arguments (the grammar in request channels).
    forms: tuple[re.Pattern, ...] = ()


def normalize(text: str) -> str:
    """Lower-case, trimmed text with one space between words and no trailing punctuation (a lone '?' stays)."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip("?!. ") or text


def _rest(text: str) -> str:
    parts = text.strip().split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


class CommandRouter:
    """Finds the command for a message: first by its first word, then by its patterns."""

    def __init__(self) -> None:
        self._commands: list[Command] = []

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str = "",
        patterns: tuple[str, ...] = (),
        scopes: frozenset[Scope] = ALL_SCOPES,
        forms: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register a handler under a command word; `forms` are the whole messages it accepts (default: the word)."""

        def register(handler: Handler) -> Handler:
            if any(c.name == name for c in self._commands):
                raise ValueError(f"command {name!r} is registered twice")
            compiled = tuple(re.compile(p) for p in patterns)
            whole = tuple(re.compile(f) for f in (forms or (re.escape(name),)))
            self._commands.append(Command(name, summary, handler, usage or name, compiled, scopes, whole))
            return handler

        return register

    def match_whole(self, text: str, scope: Scope) -> tuple[Command, str] | None:
        """The command when the whole message is one (with its documented arguments); None otherwise.

        In request channels this is the only way a message is a command: "pick up address is wrong" is a
        request, "pick" is the command.
        """
        clean = normalize(text)
        if not clean:
            return None
        for command in self._commands:
            if scope in command.scopes and any(form.fullmatch(clean) for form in command.forms):
                return command, _rest(text)
        return None

    def match(self, text: str, scope: Scope) -> tuple[Command, str] | None:
        """The command for a message in a scope, and its arguments; None when nothing fits."""
        clean = normalize(text)
        if not clean:
            return None
        word = clean.split(" ", 1)[0]
        raw_rest = _rest(text)
        for command in self._commands:
            if scope in command.scopes and command.name == word:
                return command, raw_rest.strip()
        if scope is not Scope.PERSONAL:
            # In channels free text is a support request; only exact command words count there.
            return None
        for command in self._commands:
            if scope in command.scopes and any(p.search(clean) for p in command.patterns):
                return command, ""
        return None

    def commands(self, scope: Scope) -> list[Command]:
        """The commands available in a scope, in registration order."""
        return [c for c in self._commands if scope in c.scopes]


router = CommandRouter()
