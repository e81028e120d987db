"""Finding a card's Action.Execute buttons, wherever they sit (body, action sets, show-card forms)."""

from __future__ import annotations

from typing import Iterator


def actions_in(card: object) -> Iterator[dict]:
    """Every Action.Execute in the card, in document order."""
    if isinstance(card, dict):
        if card.get("type") == "Action.Execute":
            yield card
        for value in card.values():
            yield from actions_in(value)
    elif isinstance(card, list):
        for item in card:
            yield from actions_in(item)


def find_action(card: dict, verb: str) -> dict:
    """The first Action.Execute with this verb; AssertionError when the card has none."""
    for action in actions_in(card):
        if action.get("verb") == verb:
            return action
    raise AssertionError(f"no {verb} action in the card")
