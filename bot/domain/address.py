"""Where to reach a conversation, opaque to the core: only the Teams adapters build or read its reference."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Address:
    """A conversation (a channel, a thread in it, a chat) as the adapters know it.

    `ref` is the adapter's reference, never read by the core. `place` names the channel or chat the
    conversation is in, and `thread` the root message of a thread in it ('' for the channel or chat itself):
    the core compares them (which channel takes requests, which thread a message belongs to), never parses them.
    """

    ref: str
    place: str = ""
    thread: str = ""

    def in_thread(self, root: str) -> "Address":
        """The thread that the message `root` started in this channel."""
        return replace(self, thread=root)

    def top(self) -> "Address":
        """The channel or chat itself, outside any thread."""
        return replace(self, thread="")

    def same_place(self, other: "Address") -> bool:
        """True for two addresses in the same channel or chat (threads of one channel included)."""
        return self.place == other.place

    def to_json(self) -> str:
        """The address as stored."""
        return json.dumps([self.ref, self.place, self.thread])

    @classmethod
    def from_json(cls, text: str) -> "Address":
        """An address as to_json() stored it."""
        ref, place, thread = json.loads(text)
        return cls(ref, place, thread)
