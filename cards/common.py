"""Building blocks shared by all cards."""

from __future__ import annotations

from typing import Any

from bot.core.verbs import Verb

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card(body: list[dict], actions: list[dict] | None = None, **extra: Any) -> dict:
    """An Adaptive Card 1.5 with a body and optional actions."""
    content: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        content["actions"] = actions
    content.update(extra)
    return content


def text(value: str, **style: Any) -> dict:
    """A wrapping TextBlock."""
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def heading(value: str) -> dict:
    """A card title."""
    return text(value, size="Large", weight="Bolder", style="heading")


def facts(pairs: list[tuple[str, str]]) -> dict:
    """A FactSet of title/value pairs."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def execute(title: str, verb: Verb, data: dict | None = None, **extra: Any) -> dict:
    """An Action.Execute with Action.Submit as fallback for clients without Universal Actions."""
    payload = {"verb": verb.value, **(data or {})}
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb.value,
        "data": payload,
        "fallback": {"type": "Action.Submit", "title": title, "data": payload},
        **extra,
    }
