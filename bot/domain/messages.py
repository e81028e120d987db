"""What the bot says: plain values that the Teams layer turns into activities."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """An Adaptive Card, sent as its own activity so it can be updated later."""

    content: dict
    summary: str = ""


Reply = Text | Card


def encode_reply(reply: Reply) -> dict:
    """A reply as plain JSON data, to store it (a message to send later)."""
    if isinstance(reply, Card):
        return {"card": reply.content, "summary": reply.summary}
    return {"text": reply.text, "mentions": [[m.id, m.name, m.tag_mention] for m in reply.mentions]}


def decode_reply(data: dict) -> Reply:
    """The reply encode_reply stored."""
    if "card" in data:
        return Card(data["card"], data.get("summary", ""))
    return Text(data["text"], tuple(Mention(i, n, bool(t)) for i, n, t in data.get("mentions", [])))
