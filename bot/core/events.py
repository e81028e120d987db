"""The core's language: what adapters hand it (inbound events) and what it asks them to do (outbound effects).

Everything here is plain data. Adapters (bot/teams on botbuilder, bot/agents on the Microsoft 365 Agents SDK)
turn activities into inbound events and carry out the effects; nothing here knows an SDK.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union

from ..domain.address import Address
from ..domain.requests import Person

__all__ = [
    "Address", "Person", "Scope", "Message", "CardAction", "Installed", "Inbound",
    "Mention", "Text", "Card", "Content", "Priority", "Reply", "UpdateCard", "Answer", "Post", "Update", "Direct",
    "Effect", "ActionResult",
]


class Scope(str, enum.Enum):
    """Where something was written."""

    PERSONAL = "personal"
    CHANNEL = "channel"
    GROUP_CHAT = "groupChat"


# --- inbound -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A message to the bot, or one it sees in a channel it is in (the RSC permission delivers them all).

    `text` has the bot's mention removed. The address's `thread` is the root message of the thread the message
    is in; a message that starts a thread has its own id there.
    """

    id: str
    sender: Person
    scope: Scope
    text: str
    mentioned: bool
    address: Address
    at: datetime

    @property
    def in_reply(self) -> bool:
        """True for a reply inside a thread (not the message that started it)."""
        return bool(self.address.thread) and self.address.thread != self.id


@dataclass(frozen=True)
class CardAction:
    """A click on a card: who, where, the data the card carried (with its verb), and the clicked card's id.

    `invoke` is True for Action.Execute (the client waits for an answer), False for the Action.Submit fallback.
    """

    sender: Person
    scope: Scope
    data: dict
    card_id: str
    address: Address
    at: datetime
    invoke: bool = True


@dataclass(frozen=True)
class Installed:
    """The bot was installed personally, or added to a team or chat; `address` is where to greet."""

    sender: Person
    scope: Scope
    address: Address
    team: str = ""  # the team's id, when added to a team


Inbound = Union[Message, CardAction, Installed]


# --- outbound --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """Someone to @mention: the Teams or Entra id and the name shown."""

    id: str
    name: str
    tag_mention: bool = False  # a Teams tag (a group of people in a team), not one person

    @property
    def tag(self) -> str:
        """The text that marks the mention inside a message."""
        return f"<at>{self.name}</at>"


@dataclass(frozen=True)
class Text:
    """A text message; mentions must appear in it as their tags."""

    text: str
    mentions: tuple[Mention, ...] = field(default=())


@dataclass(frozen=True)
class Card:
    """A card, as view data (see bot/core/views.py); the adapter renders it with cards.render, as its own message."""

    view: Any
    summary: str = ""


Content = Union[Text, Card]


class Priority(enum.IntEnum):
    """Which sends go first when a conversation is busy: acknowledgements, then pages and escalations, then cards."""

    ACKNOWLEDGEMENT = 0
    PAGE = 1
    CARD = 2


@dataclass(frozen=True)
class Reply:
    """Answer in the conversation (or thread) the inbound event came from, during its turn."""

    content: Content


@dataclass(frozen=True)
class UpdateCard:
    """Replace a card the bot posted earlier in this conversation, for everyone."""

    card_id: str
    card: Card


@dataclass(frozen=True)
class Answer:
    """The answer to an invoke (a card click the client waits for): the replacement card, or a short note."""

    card: Card | None = None
    note: str = ""


@dataclass(frozen=True)
class Post:
    """A proactive message to a conversation or thread, outside any turn."""

    to: Address
    content: Content
    priority: Priority = Priority.CARD


@dataclass(frozen=True)
class Update:
    """A proactive update of a card the bot posted earlier."""

    at: Address
    card_id: str
    card: Card
    priority: Priority = Priority.CARD


@dataclass(frozen=True)
class Direct:
    """A 1:1 message to a person (their chat with the bot is created when there is none); `via` names the tenant."""

    to: Person
    content: Content
    via: Address


Effect = Union[Reply, UpdateCard, Post, Update, Direct]


@dataclass(frozen=True)
class ActionResult:
    """What a handler makes of a click: the card as it now is, a note for the clicker, replies in the conversation.

    `changed` says the card changed for everyone, so the clicked card is updated in place.
    """

    card: Card | None = None
    note: str = ""
    replies: list[Content] = field(default_factory=list)
    changed: bool = False


def encode_content(content: Content) -> dict:
    """A reply as plain JSON data, to store it (sent later); a card must be rendered to its dict first."""
    if isinstance(content, Card):
        if not isinstance(content.view, dict):
            raise TypeError("render a card (cards.render) before storing it")
        return {"card": content.view, "summary": content.summary}
    return {"text": content.text, "mentions": [[m.id, m.name, m.tag_mention] for m in content.mentions]}


def decode_content(data: dict) -> Content:
    """The reply encode_content stored (a card comes back as its rendered dict, which renders as itself)."""
    if "card" in data:
        return Card(data["card"], data.get("summary", ""))
    return Text(data["text"], tuple(Mention(i, n, bool(t)) for i, n, t in data.get("mentions", [])))
