"""Routing by registry: commands by their words and grammar, card clicks by their verb.

The app that owns the routers registers every handler explicitly (bot/core/wiring.py); nothing registers
itself by being imported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from ..domain.address import Address
from ..domain.errors import DomainError
from ..domain.requests import Person
from .events import ActionResult, Content, Scope
from .verbs import Verb

ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class CommandRequest:
    """One command to handle: who asked, where, when, the text, and the text after the command word."""

    caller: Person
    scope: Scope
    text: str
    args: str
    now: datetime
    address: Address | None = None


Handler = Callable[[CommandRequest], Awaitable[list[Content]]]


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
    """Finds the command for a message: by its whole text in request channels, else by its first word and patterns."""

    def __init__(self) -> None:
        self._commands: list[Command] = []

    def add(self, name: str, handler: Handler, *, summary: str, usage: str = "", patterns: tuple[str, ...] = (),
            scopes: frozenset[Scope] = ALL_SCOPES, forms: tuple[str, ...] = ()) -> None:
        """Register a handler under a command word; `forms` are the whole messages it accepts (default: the word)."""
        if any(c.name == name for c in self._commands):
            raise ValueError(f"command {name!r} is registered twice")
        compiled = tuple(re.compile(p) for p in patterns)
        whole = tuple(re.compile(f) for f in (forms or (re.escape(name),)))
        self._commands.append(Command(name, summary, handler, usage or name, compiled, scopes, whole))

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
        for command in self._commands:
            if scope in command.scopes and command.name == word:
                return command, _rest(text)
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


@dataclass(frozen=True)
class ActionRequest:
    """One click: who, where, which verb, with the data the card carried."""

    caller: Person
    scope: Scope
    verb: Verb
    data: dict
    now: datetime
    message_id: str = ""
    address: Address | None = None


ActionHandler = Callable[[ActionRequest], Awaitable[ActionResult]]
STALE = ActionResult(note="This card is out of date. Ask me again for a fresh one.")


def card_revision(data: dict) -> int | None:
    """The revision the clicked card showed; None for cards that carry none."""
    try:
        return int(data["rev"])
    except (KeyError, TypeError, ValueError):
        return None


def card_field(data: dict, name: str) -> str:
    """A required id the card carries; a card without it is from another version of the bot."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise DomainError("This card is out of date. Ask me again for a fresh one.")
    return value


class ActionRouter:
    """Dispatches clicks by verb."""

    def __init__(self) -> None:
        self._handlers: dict[Verb, ActionHandler] = {}

    def add(self, verb: Verb, handler: ActionHandler) -> None:
        """Register the handler of a verb."""
        if verb in self._handlers:
            raise ValueError(f"verb {verb.value!r} is registered twice")
        self._handlers[verb] = handler

    def parse(self, raw: object) -> Verb | None:
        """The Verb for a raw verb string, or None when the card is from another version."""
        try:
            return Verb(raw)
        except ValueError:
            return None

    def handler(self, verb: Verb) -> ActionHandler | None:
        """The registered handler, if any."""
        return self._handlers.get(verb)

    def verbs(self) -> set[Verb]:
        """Every verb with a handler."""
        return set(self._handlers)
