"""Inbound events as plain data: what an adapter hands the core."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..commands.router import Caller, Scope
from ..domain.requests import Address, Person


@dataclass(frozen=True)
class Message:
    """A message to the bot, or one it sees in a channel it is in.

    `text` has the bot's mention removed. `thread_root` is the id of the thread's first message ('' outside a
    thread); a message that starts a thread has its own id there.
    """

    id: str
    sender: Caller
    scope: Scope
    text: str
    mentioned: bool
    address: Address
    at: datetime
    thread_root: str = ""

    @property
    def channel_id(self) -> str:
        """The Teams channel id ('' outside channels)."""
        return self.address.channel_id

    @property
    def in_reply(self) -> bool:
        """True for a reply inside someone's thread (not the message that started it)."""
        return bool(self.thread_root) and self.thread_root != self.id

    @property
    def person(self) -> Person:
        """The sender as a domain person."""
        return Person(self.sender.aad_object_id, self.sender.name, self.sender.teams_id)


@dataclass(frozen=True)
class CardAction:
    """A click on a card: who, where, the data the card carried (with its verb), and the clicked card's id."""

    sender: Caller
    scope: Scope
    data: dict
    card_id: str
    address: Address
    at: datetime
