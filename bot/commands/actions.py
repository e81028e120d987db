"""Card action routing: one handler per verb of the shared Verb enum."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable

from cards.verbs import Verb

from ..domain.errors import DomainError

from ..domain.messages import Reply
from .router import Caller, Scope

if TYPE_CHECKING:
    from ..bootstrap import Services
    from ..domain.requests import Address


@dataclass(frozen=True)
class ActionRequest:
    """One click: who, where, which verb, with the data the card carried."""

    caller: Caller
    scope: Scope
    verb: Verb
    data: dict
    now: datetime
    services: "Services"
    message_id: str = ""
    address: "Address | None" = None


@dataclass(frozen=True)
class ActionResult:
    """What a click gets back: a card that replaces the clicked one, a short note, and replies to post."""

    card: dict | None = None
    note: str = ""
    replies: list[Reply] = field(default_factory=list)
    update_in_place: bool = False


ActionHandler = Callable[[ActionRequest], Awaitable[ActionResult]]


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


def from_outcome(outcome) -> ActionResult:
    """A desk's ActionOutcome as the click's result; changed cards are updated in place for everyone."""
    return ActionResult(card=outcome.card, note=outcome.note, replies=outcome.replies, update_in_place=outcome.changed)
STALE = ActionResult(note="This card is out of date. Ask me again for a fresh one.")


class ActionRouter:
    """Dispatches clicks by verb."""

    def __init__(self) -> None:
        self._handlers: dict[Verb, ActionHandler] = {}

    def verb(self, verb: Verb) -> Callable[[ActionHandler], ActionHandler]:
        """Register the handler of a verb."""

        def register(handler: ActionHandler) -> ActionHandler:
            if verb in self._handlers:
                raise ValueError(f"verb {verb.value!r} is registered twice")
            self._handlers[verb] = handler
            return handler

        return register

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


actions = ActionRouter()
